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


class ApiTokenForm(forms.Form):
    """A new API token's name, so its owner knows later which script holds it."""

    name = forms.CharField(
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. ci, release script", "autocomplete": "off"}),
        error_messages={"required": "Name the token after what will use it, e.g. ci."},
    )
