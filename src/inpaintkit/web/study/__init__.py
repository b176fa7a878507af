"""The RePaint paper's two-alternative user study (section 5.2): pairs from a bench folder
(:mod:`.build`), votes in SQLite (:mod:`.store`), preference rates with 95% intervals
(:mod:`.stats`) and its pages and API (:mod:`.routes`)."""
