-- The winner named by the latest analysis (NULL: none yet, or never analysed) and when it ran,
-- so listing experiments reads a column instead of analysing every experiment again.

ALTER TABLE experiments ADD COLUMN winner TEXT;
ALTER TABLE experiments ADD COLUMN analyzed_at TEXT;
