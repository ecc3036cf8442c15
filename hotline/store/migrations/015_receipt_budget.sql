-- Hotline schema v15: the receipt-lookup failure budget is counted in the
-- database (issue 14, stateless front ends).
--
-- Each front end counted wrong receipts per minute in its own memory, so N
-- front ends allowed N budgets. The count moves into flood_budget beside the
-- SMS auto-reply budget: one row per kind and minute, nothing about who
-- guessed. SQLite cannot change a CHECK, so the table is rebuilt (rows kept).
CREATE TABLE flood_budget_v15 (
    kind  TEXT NOT NULL CHECK (kind IN ('sms_auto_reply', 'receipt_failure')),
    slot  INTEGER NOT NULL,              -- unix time of the slot's start
    used  INTEGER NOT NULL,
    PRIMARY KEY (kind, slot)
) STRICT, WITHOUT ROWID;
INSERT INTO flood_budget_v15 (kind, slot, used) SELECT kind, slot, used FROM flood_budget;
DROP TABLE flood_budget;
ALTER TABLE flood_budget_v15 RENAME TO flood_budget;
