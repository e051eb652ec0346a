"""Modal screens: confirmations for dangerous actions, the approval dialog, details and help."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from polytui.tui.arm import ApprovalArm


class ConfirmModal(ModalScreen[bool]):
    """Asks yes/no before a dangerous action (kill, close, quit with live orders).

    Only ``y`` confirms; enter does not, so a stray enter never kills or closes anything."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n", "answer(False)", "No", id="confirm.no", tooltip="Cancel"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel", tooltip="Cancel"),
    ]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger"):
            yield Static(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.message), classes="dialog-body")
            yield Static("y confirm · n / esc cancel", classes="dialog-keys")

    def action_answer(self, yes: bool) -> None:
        """Close with the operator's answer."""
        self.dismiss(yes)


class ApprovalDialog(ModalScreen[bool | None]):
    """One pending intent in full; ``y`` approves, ``n`` rejects, ``esc`` closes (the trade
    stays pending: backing out of a dialog never decides anything).

    ``y`` is ignored for the arm delay after the dialog opens, so the enter-then-y of a key
    repeat cannot approve a trade nobody read."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "approve", "Approve", id="dialog.approve", tooltip="Approve this trade"),
        Binding("n", "reject", "Reject", id="dialog.reject", tooltip="Reject this trade"),
        Binding("escape", "close", "Close", id="dialog.escape", tooltip="Close; keep it pending"),
    ]

    def __init__(self, title: str, lines: Sequence[tuple[str, str]], arm: ApprovalArm) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.lines = list(lines)
        self.arm = arm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog approval"):
            yield Static(Text(self.title_text), classes="dialog-title")
            yield Static(_field_lines(self.lines), classes="dialog-body")
            yield Static("y approve · n reject · esc close (stays pending)", classes="dialog-keys")

    def on_mount(self) -> None:
        self.arm.prompt()

    def action_approve(self) -> None:
        """Approve, unless the dialog only just opened."""
        if not self.arm.ready():
            self.app.notify("approval key ignored: the dialog just opened", severity="warning")
            return
        self.dismiss(True)

    def action_reject(self) -> None:
        """Reject the trade."""
        self.dismiss(False)

    def action_close(self) -> None:
        """Close without deciding."""
        self.dismiss(None)


class DetailModal(ModalScreen[None]):
    """Read-only detail of a signal, position or feed; any of esc / enter / q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="detail.close", tooltip="Close"),
    ]

    def __init__(self, title: str, lines: Sequence[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text), classes="dialog-title")
            yield Static(_field_lines(self.lines), classes="dialog-body")
            yield Static("esc close", classes="dialog-keys")

    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key the console answers to, generated from the bindings themselves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close", tooltip="Close"),
    ]

    def __init__(self, keys: Sequence[tuple[str, str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _, _ in self.keys), default=4)
        text = Text()
        for key, description, tooltip in self.keys:
            text.append(f"{key:>{width}}  ", style="bold")
            text.append(f"{description}")
            if tooltip:
                text.append(f" — {tooltip}")
            text.append("\n")
        text.rstrip()
        with Vertical(classes="dialog help"):
            yield Static("Keys", classes="dialog-title")
            yield Static(text, classes="dialog-body")
            yield Static("esc close · ctrl+p command palette", classes="dialog-keys")

    def action_close(self) -> None:
        """Close help."""
        self.dismiss(None)


def _field_lines(lines: Sequence[tuple[str, str]]) -> Text:
    width = max((len(name) for name, _ in lines), default=0)
    text = Text()
    for name, value in lines:
        text.append(f"{name:>{width}}  ", style="bold")
        text.append(f"{value}\n")
    text.rstrip()
    return text
