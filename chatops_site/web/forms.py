from __future__ import annotations

from django import forms


class CommandForm(forms.Form):
    """The command box: one line, as it would be typed in chat."""

    line = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "/deploy web-app staging", "autocomplete": "off"}),
        error_messages={"required": "Type a command, e.g. /help."},
    )
