"""The record written to a file controller by controller, so a worker holds one chunk of
customers in memory whatever the organization's size.

Each writer produces what the synchronous `GET .../record` answers for the same record:
CSV byte for byte (the same row functions), JSON and XLSX equal when parsed (JSON keys may
come in another order; XLSX columns get a fixed width, not one fitted to the contents).
"""

from __future__ import annotations

import io
from contextlib import suppress
from typing import IO

from flask import current_app
from marshmallow import Schema
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from service.records import formats
from service.records.schemas import (
    ControllerSchema,
    RecipientEntrySchema,
    RecordSchema,
    TransferSchema,
)

HEAD_FIELDS = ("as_of", "lang", "processor", "security_measures", "audit_digest")
RECIPIENT, TRANSFER = RecipientEntrySchema(), TransferSchema()
# Write-only sheets cannot be measured after the fact; this suits most cells of the record.
XLSX_COLUMN_WIDTH = 32


class JsonWriter:
    """`{head..., "controllers": [ ... ], "total": n}`, dumped by the API's own schemas."""

    def __init__(self, out: IO[bytes], head: dict) -> None:
        self.out = out
        self.first = True
        self.schema = ControllerSchema()
        self.dumps: dict[int, tuple[dict, dict]] = {}
        dumped = RecordSchema(only=HEAD_FIELDS).dump(head)
        self._write(self._json(dumped)[:-1] + ',"controllers":[')

    def _json(self, value: object) -> str:
        return current_app.json.dumps(value)

    def _write(self, text: str) -> None:
        self.out.write(text.encode())

    def add(self, controllers: list[dict]) -> None:
        for controller in controllers:
            item = self.schema.dump({**controller, "recipients": [], "transfers": []})
            # A vendor's entry and transfers are the same objects for every customer of one
            # export (records.controller_entries' memo): dumped once each, not per customer.
            # bench/export_profile.py, 2,000 customers as JSON: 4.2 s -> 1.9 s.
            item["recipients"] = [self._dumped(RECIPIENT, e) for e in controller["recipients"]]
            item["transfers"] = [self._dumped(TRANSFER, t) for t in controller["transfers"]]
            self._write(("" if self.first else ",") + self._json(item))
            self.first = False

    def _dumped(self, schema: Schema, value: dict) -> dict:
        # Keyed by identity, holding the value so that no other object takes its id.
        if id(value) not in self.dumps:
            self.dumps[id(value)] = (value, schema.dump(value))
        return self.dumps[id(value)][1]

    def close(self, total: int) -> None:
        self._write(f'],"total":{total}}}')

    def abandon(self) -> None:
        """Nothing to release: the caller closes and deletes the file."""


class CsvWriter:
    """The synchronous CSV's header and rows, through the same functions."""

    def __init__(self, out: IO[bytes], head: dict) -> None:
        self.text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        self.head = head
        self.writer = formats.csv_writer(self.text)
        self.writer.writerow(formats.csv_header())

    def add(self, controllers: list[dict]) -> None:
        for controller in controllers:
            self.writer.writerow(formats.csv_cells(self.head, controller))

    def close(self, total: int) -> None:
        self.text.flush()
        self.text.detach()

    def abandon(self) -> None:
        # Detached, the wrapper cannot flush into the closed file when it is collected.
        with suppress(ValueError):
            self.text.detach()


class XlsxWriter:
    """A write-only workbook (rows go to temporary files, not memory) with the sheets,
    headers and cells of the synchronous one."""

    def __init__(self, out: IO[bytes], head: dict) -> None:
        self.out = out
        self.book = Workbook(write_only=True)
        self.text_style: StyleArray | None = None
        self.sheets = {}
        for title, header, of_record, of_controller in formats.SHEETS:
            sheet = self.book.create_sheet(title)
            for n in range(1, len(header) + 1):
                sheet.column_dimensions[get_column_letter(n)].width = XLSX_COLUMN_WIDTH
            sheet.freeze_panes = "A2"
            sheet.append([self._header_cell(sheet, text) for text in header])
            for row in of_record(head) if of_record else ():
                self._append(sheet, row)
            self.sheets[title] = (sheet, of_controller)

    @staticmethod
    def _header_cell(sheet, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = Font(bold=True)
        return cell

    def _append(self, sheet, values: list[object]) -> None:
        cells = []
        for value in values:
            value = formats._xlsx_value(value)
            if isinstance(value, str):
                # The style of a text cell, registered with the workbook once: setting
                # `cell.alignment` looks the style up (hashing it) for every cell.
                # bench/export_profile.py, 2,000 customers as XLSX: 24.2 s -> 16.3 s.
                style = self._text_style(sheet)
                # The row and column are the sheet's to set when it writes the row.
                cell = Cell(sheet, row=1, column=1, value=value, style_array=style)
                # As in the synchronous workbook: a string starting with "=" stays a string.
                cell.data_type = "s"
            else:
                cell = WriteOnlyCell(sheet, value=value)
            cells.append(cell)
        sheet.append(cells)

    def _text_style(self, sheet) -> StyleArray:
        """The style ids of a wrapped text cell in this workbook, found once through a cell
        (openpyxl has no public way to them; `Cell` copies the array it is given)."""
        if self.text_style is None:
            probe = WriteOnlyCell(sheet)
            probe.alignment = formats.WRAPPED
            self.text_style = probe._style
        return self.text_style

    def add(self, controllers: list[dict]) -> None:
        for sheet, of_controller in self.sheets.values():
            if of_controller is None:
                continue
            for controller in controllers:
                for row in of_controller(controller):
                    self._append(sheet, row)

    def close(self, total: int) -> None:
        self.book.save(self.out)

    def abandon(self) -> None:
        # Each sheet writes to a temporary file through a generator; closed now, none is
        # left to write into a closed file when the garbage collector gets to it.
        for sheet in self.book.worksheets:
            with suppress(Exception):
                sheet.close()


WRITERS = {"json": JsonWriter, "csv": CsvWriter, "xlsx": XlsxWriter}
