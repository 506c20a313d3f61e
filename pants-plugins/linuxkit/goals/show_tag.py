"""`pants linuxkit-show-tag`: print each package's tag exactly as `linuxkit pkg show-tag` does."""

from __future__ import annotations

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.target_types import LinuxkitPackageFieldSet
from linuxkit.util_rules.tag import LinuxkitTag, LinuxkitTagRequest
from pants.engine.console import Console
from pants.engine.goal import Goal, GoalSubsystem, LineOriented
from pants.engine.rules import Get, MultiGet, collect_rules, goal_rule
from pants.engine.target import FilteredTargets
from pants.option.option_types import BoolOption
from pants.util.strutil import help_text


class ShowTagSubsystem(LineOriented, GoalSubsystem):
    name = "linuxkit-show-tag"
    help = help_text(
        """
        Print the tag of each `linuxkit_package`, one `org/image:tag` line per package, exactly as
        `linuxkit pkg show-tag` prints it.
        """
    )

    canonical = BoolOption(
        default=False,
        help="Print the full reference (`docker.io/org/image:tag`), like `show-tag --canonical`.",
    )
    with_address = BoolOption(
        default=False,
        help="Prefix each line with the target's address and a space.",
    )


class ShowTag(Goal):
    subsystem_cls = ShowTagSubsystem
    environment_behavior = Goal.EnvironmentBehavior.LOCAL_ONLY


@goal_rule
async def show_tag(console: Console, subsystem: ShowTagSubsystem, targets: FilteredTargets) -> ShowTag:
    field_sets = [
        LinuxkitPackageFieldSet.create(t) for t in targets if LinuxkitPackageFieldSet.is_applicable(t)
    ]
    try:
        tags = await MultiGet(Get(LinuxkitTag, LinuxkitTagRequest(fs.address)) for fs in field_sets)
    except LinuxkitError as e:
        console.print_stderr(f"linuxkit-show-tag: {e}")
        return ShowTag(exit_code=1)
    with subsystem.line_oriented(console) as print_stdout:
        for field_set, tag in zip(field_sets, tags):
            line = tag.name.canonical if subsystem.canonical else tag.name.short
            print_stdout(f"{field_set.address.spec} {line}" if subsystem.with_address else line)
    return ShowTag(exit_code=0)


def rules():
    return collect_rules()
