-- Rule feedback: when an advocate sets a tip's urgency, what the rules had
-- said and which rules fired (ids from the advocate's own decrypted copy).
-- No tip id, no content, a coarse date: administrators see each rule's
-- precision without being able to tie a row to a report.
CREATE TABLE rule_feedback (
    id               INTEGER PRIMARY KEY,
    day              TEXT NOT NULL,
    ruleset_version  TEXT NOT NULL,
    rule_ids         TEXT NOT NULL,     -- sorted, comma-separated
    rules_urgency    TEXT NOT NULL CHECK (rules_urgency IN ('low', 'normal', 'high', 'critical')),
    advocate_urgency TEXT NOT NULL CHECK (advocate_urgency IN ('low', 'normal', 'high', 'critical'))
) STRICT;
