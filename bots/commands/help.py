from bots.grammar import Arg
from bots.registry import COMMANDS, Context, command, find_command
from bots.types import Reply


@command(
    "help", "Show what the bot can do, or how to use one command", Arg("command", "a command name", required=False)
)
def help_(ctx: Context) -> Reply:
    name = (ctx.args.get("command") or "").lstrip("/").lower()
    if name:
        cmd = find_command(name)
        lines = [f"{cmd.usage}", cmd.summary]
        if cmd.details:
            lines.append(cmd.details)
        lines += [f"  <{arg.name}>: {arg.help}" for arg in cmd.args]
        return Reply("\n".join(lines))
    lines = ["Commands (also as /ops <command> ...):"]
    lines += [f"  {cmd.usage} - {cmd.summary}" for cmd in sorted(COMMANDS.values(), key=lambda c: c.name)]
    lines.append("Type /help <command> for details.")
    return Reply("\n".join(lines))
