-- Why a reply ended `incomplete` (`length`, `content_filter`); NULL otherwise.
ALTER TABLE messages ADD COLUMN finish_reason TEXT;
