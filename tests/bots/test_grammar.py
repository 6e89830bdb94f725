"""The command grammar: every registered command parses, refuses and explains itself the same way.

Parsing is checked per command (from the registry, so a new command is covered the day it is added),
then fuzzed: whatever a chat user types, `parse` answers or raises `InvalidCommand`, and the engine
answers with a reply and an audit row, never with an unhandled exception.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bots.command_engine import handle
from bots.grammar import (
    DEPLOYMENT,
    ENVIRONMENT,
    SERVICE,
    Arg,
    InvalidCommand,
    named,
    optional,
    parse,
    resolve,
    tokenize,
)
from bots.models import CommandRun, Outcome
from bots.registry import COMMANDS
from bots.types import Invocation, Reply
from chatops_site.catalog.models import Environment, Service

EXPECTED_USAGE = {
    "approve": "/approve <deployment> [<commit>]",
    "cost": "/cost [<period>] [<service>]",
    "deploy": "/deploy <service> <env> [<version>] [--override <reason...>]",
    "freezes": "/freezes [<service>] [<env>]",
    "help": "/help [<command>]",
    "history": "/history [<service>] [<env>]",
    "lock": "/lock <service> <env> [<reason>...]",
    "reject": "/reject <deployment> [<reason>...]",
    "rollback": "/rollback <service> <env> [<version>] [--override <reason...>]",
    "status": "/status [<service>] [<env>]",
    "unlock": "/unlock <service> <env>",
    "whoami": "/whoami",
}
# Every registered command, the installed plugins' too (tests/bots/test_plugins.py): the grammar's rules
# hold for all of them; only the built-in ones are fixed by the design.
ALL_COMMANDS = sorted(COMMANDS)
BUILT_IN_COMMANDS = sorted(name for name, cmd in COMMANDS.items() if not cmd.plugin)
# A plausible word for each kind of argument, so that a command can be given all of its arguments.
SAMPLE = {
    "service": "web-app", "environment": "staging", "deployment": "12", "word": "v1.2.3", "rest": "because",
    "option": "because",
}  # fmt: skip


def sample_words(args) -> list[str]:
    """What a person types for each argument: an option with its flag."""
    return [f"--{arg.name} {SAMPLE[arg.kind]}" if arg.kind == "option" else SAMPLE[arg.kind] for arg in args]


# Usage strings and declarations


def test_the_registry_holds_exactly_the_commands_of_the_design_besides_the_plugins():
    assert set(BUILT_IN_COMMANDS) == set(EXPECTED_USAGE)


@pytest.mark.parametrize("name", BUILT_IN_COMMANDS)
def test_usage_string_of_every_command_is_built_from_its_declared_arguments(name):
    assert COMMANDS[name].usage == EXPECTED_USAGE[name]


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_every_command_has_a_summary_discord_accepts_and_help_for_each_argument(name):
    cmd = COMMANDS[name]
    assert 0 < len(cmd.summary) <= 100
    assert all(arg.help for arg in cmd.args)
    # Required arguments come first, and only the last argument may take the rest of the line.
    required = [arg.required for arg in cmd.args]
    assert required == sorted(required, reverse=True)
    assert all(arg.kind != "rest" for arg in cmd.args[:-1])


def test_optional_and_rest_arguments_are_shown_in_brackets_and_with_dots():
    assert SERVICE.usage == "<service>"
    assert optional(SERVICE).usage == "[<service>]"
    assert optional(SERVICE).kind == "service"
    assert Arg("reason", "why", kind="rest").usage == "<reason>..."
    assert Arg("reason", "why", kind="rest", required=False).usage == "[<reason>...]"


# Parsing, command by command


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_every_command_accepts_all_of_its_arguments(name):
    args = COMMANDS[name].args
    words = sample_words(args)
    assert parse(args, " ".join(words)) == {arg.name: SAMPLE[arg.kind] for arg in args}


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_every_command_accepts_its_required_arguments_alone(name):
    args = COMMANDS[name].args
    required = [arg for arg in args if arg.required]
    words = sample_words(required)
    assert parse(args, " ".join(words)) == {arg.name: word for arg, word in zip(required, words, strict=True)}


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_every_missing_required_argument_is_named_in_the_refusal(name):
    args = COMMANDS[name].args
    required = [arg for arg in args if arg.required]
    for given_count, missing in enumerate(required):
        text = " ".join(sample_words(required[:given_count]))
        with pytest.raises(InvalidCommand) as refused:
            parse(args, text)
        assert str(refused.value) == f"missing {missing.usage}"


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_one_word_too_many_is_refused_unless_the_last_argument_takes_the_rest(name):
    args = COMMANDS[name].args
    text = " ".join([*sample_words(args), "surplus"])
    if args and args[-1].kind in ("rest", "option"):
        assert parse(args, text)[args[-1].name] == f"{SAMPLE['rest']} surplus"
    else:
        with pytest.raises(InvalidCommand) as refused:
            parse(args, text)
        assert str(refused.value) == "unexpected 'surplus'"


def test_deploy_without_an_environment_says_missing_env():
    with pytest.raises(InvalidCommand, match=r"^missing <env>$"):
        parse(COMMANDS["deploy"].args, "web-app")


def test_deploy_without_anything_says_missing_service_first():
    with pytest.raises(InvalidCommand, match=r"^missing <service>$"):
        parse(COMMANDS["deploy"].args, "   ")


def test_approve_without_a_number_says_missing_deployment():
    with pytest.raises(InvalidCommand, match=r"^missing <deployment>$"):
        parse(COMMANDS["approve"].args, "")


def test_a_required_rest_argument_left_out_is_named():
    with pytest.raises(InvalidCommand, match=r"^missing <why>\.\.\.$"):
        parse((Arg("why", "reason", kind="rest"),), "")


def test_unexpected_names_the_first_surplus_word():
    with pytest.raises(InvalidCommand, match=r"^unexpected 'one'$"):
        parse(COMMANDS["unlock"].args, "web-app prod one two")


def test_whoami_takes_no_arguments():
    assert parse(COMMANDS["whoami"].args, "") == {}
    with pytest.raises(InvalidCommand, match=r"^unexpected 'me'$"):
        parse(COMMANDS["whoami"].args, "me")


def test_optional_arguments_left_out_are_absent_from_the_parsed_values():
    assert parse(COMMANDS["status"].args, "") == {}
    assert parse(COMMANDS["status"].args, "api") == {"service": "api"}
    assert parse(COMMANDS["deploy"].args, "api dev") == {"service": "api", "env": "dev"}


def test_rest_argument_joins_the_remaining_words_with_single_spaces():
    values = parse(COMMANDS["lock"].args, "web-app prod release   freeze\tuntil  Monday")
    assert values == {"service": "web-app", "env": "prod", "reason": "release freeze until Monday"}


def test_rest_argument_keeps_the_spaces_inside_quotes():
    values = parse(COMMANDS["reject"].args, "#12 'tests  are red' today")
    assert values == {"deployment": "#12", "reason": "tests  are red today"}


def test_rest_argument_may_be_left_out_when_optional():
    assert parse(COMMANDS["lock"].args, "web-app prod") == {"service": "web-app", "env": "prod"}


def test_quoted_arguments_are_one_word_each():
    values = parse(COMMANDS["deploy"].args, '"web-app" \'staging\' "feature/x y"')
    assert values == {"service": "web-app", "env": "staging", "version": "feature/x y"}


def test_an_empty_quoted_argument_is_an_empty_word():
    assert parse(COMMANDS["deploy"].args, 'web-app staging ""') == {
        "service": "web-app",
        "env": "staging",
        "version": "",
    }


@pytest.mark.parametrize("text", ['web-app staging "v1', "web-app 'staging", 'web-app staging v1"', "trailing\\"])
def test_unbalanced_quotes_are_refused_with_a_readable_message(text):
    with pytest.raises(InvalidCommand, match=r"^could not read the arguments \("):
        parse(COMMANDS["deploy"].args, text)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", []),
        (" \t\n ", []),
        ("web-app  staging", ["web-app", "staging"]),
        ("a 'b c' \"d e\"", ["a", "b c", "d e"]),
        ("it\\'s", ["it's"]),
        ("#12", ["#12"]),
        ("ünïcödé 部署", ["ünïcödé", "部署"]),
    ],
)
def test_tokenize_splits_like_a_shell(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_refuses_an_unclosed_quote():
    with pytest.raises(InvalidCommand, match="could not read the arguments"):
        tokenize("'open")


# Resolving: deployment numbers


@pytest.mark.parametrize(("raw", "number"), [("12", 12), ("#12", 12), ("0", 0), ("#007", 7), ("9" * 18, int("9" * 18))])
def test_deployment_numbers_are_read_with_or_without_a_hash(raw, number):
    assert resolve((DEPLOYMENT,), {"deployment": raw}) == {"deployment": number}


@pytest.mark.parametrize(
    "raw",
    [
        "x1",
        "-3",
        "+3",
        "１２",  # fullwidth digits
        "#１２",
        "٣",  # Arabic-Indic digit three
        "²",  # superscript two: isdigit() but not a number
        "1.5",
        "12#",
        "##12",
        "#",
        "",
        " 12",
        "9" * 19,  # longer than any database integer
    ],
)
def test_anything_but_plain_ascii_digits_is_refused_as_a_deployment_number(raw):
    with pytest.raises(InvalidCommand) as refused:
        resolve((DEPLOYMENT,), {"deployment": raw})
    assert str(refused.value) == f"'{raw}' is not a deployment number (e.g. 12 or #12)"


def test_arguments_not_given_resolve_to_none():
    args = COMMANDS["deploy"].args
    assert resolve(args, {}) == {"service": None, "env": None, "version": None, "override": None}


def test_words_and_rest_resolve_to_the_text_itself():
    args = COMMANDS["reject"].args
    assert resolve(args, {"deployment": "#3", "reason": "not today"}) == {"deployment": 3, "reason": "not today"}


# Resolving: catalog names


def test_known_names_resolve_to_catalog_rows_whatever_their_case(catalog):
    resolved = resolve(COMMANDS["deploy"].args, {"service": "Web-App", "env": "STAGING", "version": "v1"})
    assert resolved["service"] == Service.objects.get(name="web-app")
    assert resolved["env"] == Environment.objects.get(name="staging")
    assert resolved["version"] == "v1"


def test_unknown_service_suggests_the_closest_name(catalog):
    with pytest.raises(InvalidCommand) as refused:
        resolve((SERVICE,), {"service": "webap"})
    assert str(refused.value) == "unknown service 'webap' - did you mean 'web-app'?"


@pytest.mark.parametrize(("typed", "meant"), [("stagin", "staging"), ("prd", "prod"), ("Staging2", "staging")])
def test_unknown_environment_suggests_the_closest_name(catalog, typed, meant):
    with pytest.raises(InvalidCommand) as refused:
        resolve((ENVIRONMENT,), {"env": typed})
    assert str(refused.value) == f"unknown environment '{typed}' - did you mean '{meant}'?"


def test_unknown_service_without_a_close_match_lists_the_known_ones(catalog):
    with pytest.raises(InvalidCommand) as refused:
        resolve((SERVICE,), {"service": "zzz"})
    assert str(refused.value) == "unknown service 'zzz' (known: api, web-app, worker)"


def test_unknown_environment_without_a_close_match_lists_the_known_ones(catalog):
    with pytest.raises(InvalidCommand) as refused:
        resolve((ENVIRONMENT,), {"env": "qa"})
    assert str(refused.value) == "unknown environment 'qa' (known: dev, prod, staging)"


def test_an_empty_catalog_says_none_yet(db):
    with pytest.raises(InvalidCommand) as refused:
        resolve((SERVICE,), {"service": "web-app"})
    assert str(refused.value) == "unknown service 'web-app' (known: none yet)"


# Fuzzing

# Characters people (and their clipboards) put in chat: quotes, escapes, every kind of space,
# fullwidth digits, emoji, right-to-left text, control characters.
TRICKY = list(" \t\n\r\x0b\x0c\"'\\#-/@`$*;|&<>()\u00a0\u2003\u3000\u200b\ufeff１２٣²🚀ßİı\u202e")
NUL = "\x00"
NAMES = ["web-app", "api", "worker", "dev", "staging", "prod", "webap", "#1", "12", "main", "--force"]


def fuzzed_text(with_nul: bool, max_size: int = 60) -> st.SearchStrategy[str]:
    # Any character but NUL (only in the NUL tests) and lone surrogates, which are not valid UTF-8 text.
    anything = st.characters(exclude_characters=NUL, exclude_categories=["Cs"])
    alphabet = st.one_of(st.sampled_from(TRICKY), anything)
    if with_nul:
        alphabet = st.one_of(st.just(NUL), alphabet)
    free = st.text(alphabet, max_size=max_size)
    # Mostly well-formed words with a few odd ones, so the fuzzing also gets past the parser.
    wordy = st.lists(st.one_of(st.sampled_from(NAMES), st.text(alphabet, max_size=8)), max_size=5).map(" ".join)
    return st.one_of(free, wordy)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(ALL_COMMANDS), text=fuzzed_text(with_nul=True))
def test_parse_of_any_text_returns_the_declared_arguments_or_refuses(name, text):
    args = COMMANDS[name].args
    try:
        values = parse(args, text)
    except InvalidCommand as refused:
        assert str(refused)
        return
    declared = {arg.name for arg in args}
    assert set(values) <= declared
    assert {arg.name for arg in args if arg.required} <= set(values)
    assert all(isinstance(value, str) for value in values.values())


@settings(max_examples=200, deadline=None)
@given(text=fuzzed_text(with_nul=True))
def test_tokenize_of_any_text_returns_words_or_refuses(text):
    try:
        tokens = tokenize(text)
    except InvalidCommand:
        return
    assert all(isinstance(token, str) for token in tokens)


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.text(st.sampled_from("#0123456789１２-+ ²٣x"), max_size=24), st.text(max_size=24)))
def test_resolve_of_any_deployment_number_returns_an_int_or_refuses(raw):
    try:
        resolved = resolve((DEPLOYMENT,), {"deployment": raw})
    except InvalidCommand:
        return
    assert resolved["deployment"] == int(raw.removeprefix("#"))
    assert resolved["deployment"] >= 0


FUZZ_COMMANDS = [*ALL_COMMANDS, "ops", "nope", "", "/deploy", "OPS"]
FUZZ_USERS = ["alice", "bob", "carol", "dave"]  # dave has no chat identity
PLAUSIBLE = {
    "service": ["web-app", "api", "worker", "Web-App", "webap"],
    "environment": ["dev", "staging", "prod", "stagin"],
    "deployment": ["1", "#2", "3", "#0"],
    "word": ["v1.2", "main", "deploy", "/status"],
}


@st.composite
def typed_command(draw, with_nul: bool) -> tuple[str, str]:
    """A command name and its text: either noise, or the command's arguments in order with some noise."""
    command = draw(st.sampled_from(FUZZ_COMMANDS))
    noise = fuzzed_text(with_nul, max_size=12)
    name = command.lstrip("/").lower()
    if name in ("ops", ""):
        name = draw(st.sampled_from(ALL_COMMANDS))
        prefix = [name] if command.lower() == "ops" else []
    else:
        prefix = []
    if name not in COMMANDS or draw(st.integers(0, 2)) == 0:
        return command, draw(fuzzed_text(with_nul))
    words = [*prefix]
    for arg in COMMANDS[name].args:
        if not arg.required and draw(st.booleans()):
            break
        choices = PLAUSIBLE.get(arg.kind)
        words.append(draw(st.one_of(st.sampled_from(choices), st.sampled_from(choices), noise) if choices else noise))
    if draw(st.integers(0, 3)) == 0:
        words.append(draw(noise))
    return command, " ".join(words)


@st.composite
def typed_command_with_nul(draw) -> tuple[str, str]:
    """As typed_command, with at least one NUL somewhere (Hypothesis may switch a generator branch off for a run)."""
    command, text = draw(typed_command(with_nul=True))
    at = draw(st.integers(0, len(text)))
    return command, text[:at] + NUL + text[at:]


def run_fuzzed(command: str, text: str, user: str, capture) -> CommandRun:
    invocation = Invocation(platform="console", workspace="local", chat_user_id=user, command=command, text=text)
    # Run the enqueued deploy tasks too, as a commit would; in a savepoint, so that a database error in
    # one example cannot poison the examples after it.
    with capture(execute=True), transaction.atomic():
        reply = handle(invocation)
    assert isinstance(reply, Reply)
    assert reply.text.strip()
    run = CommandRun.objects.get(pk=reply.run_id)
    assert run.outcome in (Outcome.OK, Outcome.INVALID, Outcome.REFUSED), (run.outcome, run.error)
    assert run.finished_at is not None
    assert run.reply == reply.text
    return run


# Short enough that no single word exceeds a column's length (see the long-argument tests below).
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=typed_command(with_nul=False), user=st.sampled_from(FUZZ_USERS))
def test_the_engine_answers_any_typed_text_without_an_unhandled_error(
    catalog, django_capture_on_commit_callbacks, typed, user
):
    command, text = typed
    run = run_fuzzed(command, text, user, django_capture_on_commit_callbacks)
    event(f"/{run.command or '?'} {run.outcome}")  # how deep the fuzzing got: --hypothesis-show-statistics


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=typed_command_with_nul(), user=st.sampled_from(FUZZ_USERS))
def test_the_engine_answers_any_typed_text_even_with_nul_characters(
    catalog, django_capture_on_commit_callbacks, typed, user
):
    command, text = typed
    run = run_fuzzed(command, text, user, django_capture_on_commit_callbacks)
    event(f"/{run.command or '?'} {run.outcome}")  # how deep the fuzzing got: --hypothesis-show-statistics


@pytest.mark.parametrize(
    ("command", "text"),
    [("deploy", "web-app dev v1\x00"), ("status", "web\x00app"), ("help", "\x00"), ("nope", "x\x00y")],
)
def test_a_nul_character_in_the_text_is_answered_and_recorded(
    catalog, django_capture_on_commit_callbacks, command, text
):
    run_fuzzed(command, text, "alice", django_capture_on_commit_callbacks)


@pytest.mark.parametrize(
    ("user", "line"),
    [
        ("alice", "deploy web-app dev " + "v" * 201),
        ("bob", "lock web-app dev " + "frozen " * 80),
    ],
)
def test_an_overlong_argument_is_refused_not_an_error(catalog, django_capture_on_commit_callbacks, user, line):
    command, _, text = line.partition(" ")
    run_fuzzed(command, text, user, django_capture_on_commit_callbacks)


def test_an_overlong_rejection_reason_is_refused_not_an_error(catalog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        waiting = handle(
            Invocation(platform="console", workspace="local", chat_user_id="alice", command="deploy", text="api prod")
        )
    number = CommandRun.objects.get(pk=waiting.run_id).deployment_id
    run_fuzzed("reject", f"{number} " + "no " * 200, "bob", django_capture_on_commit_callbacks)


# Named values (Discord's options): the same arguments, read by name instead of by position


def refusal(read, *arguments) -> str:
    with pytest.raises(InvalidCommand) as refused:
        read(*arguments)
    return str(refused.value)


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_named_values_give_what_parse_gives_for_the_same_arguments(name):
    args = COMMANDS[name].args
    words = sample_words(args)
    assert named(args, {arg.name: SAMPLE[arg.kind] for arg in args}) == parse(args, " ".join(words))


@pytest.mark.parametrize(
    ("name", "optional_arg"),
    [(name, arg) for name in ALL_COMMANDS for arg in COMMANDS[name].args if not arg.required],
)
def test_every_optional_argument_may_be_named_alone(name, optional_arg):
    args = COMMANDS[name].args
    given = {arg.name: SAMPLE[arg.kind] for arg in args if arg.required or arg is optional_arg}
    assert named(args, given) == given


def test_status_may_name_an_environment_without_a_service():
    assert named(COMMANDS["status"].args, {"env": "prod"}) == {"env": "prod"}


@pytest.mark.parametrize("name", ALL_COMMANDS)
def test_a_missing_named_argument_is_refused_as_parse_refuses_it(name):
    args = COMMANDS[name].args
    required = [arg for arg in args if arg.required]
    for given_count in range(len(required)):
        given = {arg.name: SAMPLE[arg.kind] for arg in required[:given_count]}
        expected = f"missing {required[given_count].usage}"
        assert refusal(named, args, given) == refusal(parse, args, " ".join(given.values())) == expected


def test_an_unknown_name_is_refused():
    with pytest.raises(InvalidCommand, match=r"^unexpected option 'colour'$"):
        named(COMMANDS["status"].args, {"service": "api", "colour": "blue"})


def test_names_are_the_grammars_not_discords():
    with pytest.raises(InvalidCommand, match=r"^unexpected option 'environment'$"):
        named(COMMANDS["status"].args, {"environment": "prod"})


def test_named_values_are_stripped_and_blank_ones_left_out():
    assert named(COMMANDS["deploy"].args, {"service": " api ", "env": "\tdev", "version": "  "}) == {
        "service": "api",
        "env": "dev",
    }


def test_a_blank_required_value_is_missing():
    with pytest.raises(InvalidCommand, match=r"^missing <env>$"):
        named(COMMANDS["deploy"].args, {"service": "api", "env": " "})


def test_a_named_rest_argument_keeps_its_spaces():
    values = named(COMMANDS["reject"].args, {"deployment": "12", "reason": "tests  are 'red'"})
    assert values == {"deployment": "12", "reason": "tests  are 'red'"}


def test_an_overlong_named_value_is_refused_as_parse_refuses_it():
    args = COMMANDS["deploy"].args
    by_name = refusal(named, args, {"service": "api", "env": "dev", "version": "v" * 201})
    assert by_name == refusal(parse, args, "api dev " + "v" * 201) == "<version> is longer than 200 characters"


NAMED = st.dictionaries(
    st.one_of(st.sampled_from(["service", "env", "version", "period", "deployment", "reason", "command"]), st.text()),
    st.one_of(st.sampled_from(NAMES), fuzzed_text(with_nul=False, max_size=12)),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(ALL_COMMANDS), options=NAMED)
def test_named_of_any_values_returns_the_declared_arguments_or_refuses(name, options):
    args = COMMANDS[name].args
    try:
        values = named(args, options)
    except InvalidCommand as refused:
        assert str(refused)
        return
    assert set(values) <= {arg.name for arg in args}
    assert {arg.name for arg in args if arg.required} <= set(values)
    assert all(value and value == value.strip() for value in values.values())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(ALL_COMMANDS), options=NAMED, user=st.sampled_from(FUZZ_USERS))
def test_the_engine_answers_any_named_values_without_an_unhandled_error(
    catalog, django_capture_on_commit_callbacks, name, options, user
):
    invocation = Invocation(platform="console", workspace="local", chat_user_id=user, command=name, options=options)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        reply = handle(invocation)
    run = CommandRun.objects.get(pk=reply.run_id)
    assert run.outcome in (Outcome.OK, Outcome.INVALID, Outcome.REFUSED), (run.outcome, run.error)
    assert run.reply == reply.text and reply.text.strip()
    event(f"/{run.command} {run.outcome}")
