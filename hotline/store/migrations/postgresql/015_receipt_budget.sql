-- Hotline schema v15 (PostgreSQL): the receipt-lookup failure budget is counted
-- in the database, beside the SMS auto-reply budget (see ../015_receipt_budget.sql).
ALTER TABLE flood_budget DROP CONSTRAINT flood_budget_kind_check;
ALTER TABLE flood_budget ADD CONSTRAINT flood_budget_kind_check
    CHECK (kind IN ('sms_auto_reply', 'receipt_failure'));
