"""Ledger import: read files into sources, recognise their sheets, check every row, then merge all of it or none.

The steps, each a module: `text` (encodings, clean cells) and `sources` (CSV and XLSX files as sources) read;
`headers` and `layout` recognise (header names, the header row, the kind of sheet); `problems` checks;
`merge` writes. `kinds` declares the kinds of sheet and the enumerated values the steps walk.
"""

from closeloop.ledger.headers import header_name, mapping_for
from closeloop.ledger.kinds import (
    COLUMNS, DOMAINS, HEADER_ALIASES, KIND, KINDS, REQUIRED, TABLE, VALUE_ALIASES, Domain, Kind,
)
from closeloop.ledger.layout import (
    READ_REASONS, Layout, Problem, Reading, Sheet, detect, read, read_csv, read_files, read_sources, sheet_from,
    sheet_from_rows, unit_of_name,
)
from closeloop.ledger.merge import Outcome, check, load, seen_actions
from closeloop.ledger.sources import (
    HEADER_SCAN_ROWS, MAX_UPLOAD_MB, Source, csv_source, rows_source, sources_of, xlsx_sources,
)
from closeloop.ledger.text import READ_AS, clean, decode, undefused
