from __future__ import annotations

from linuxkit.util_rules.buildkit_tools import STANDARD_PATH, Tool, ToolRequest
from linuxkit.util_rules.skopeo import SkopeoProcess, skopeo_process
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


def test_skopeo_process_names_the_found_binary_and_keeps_path() -> None:
    asked: list[ToolRequest] = []

    def tool(request: ToolRequest) -> Tool:
        asked.append(request)
        return Tool("/opt/bin/skopeo")

    process = run_rule_with_mocks(
        skopeo_process,
        rule_args=[SkopeoProcess(args=("copy", "a", "b"), description="d", purpose="fetching a",
                                 output_files=("b",), env=FrozenDict({"HOME": "/h"}))],  # fmt: skip
        mock_gets=[MockGet(output_type=Tool, input_types=(ToolRequest,), mock=tool)],
    )
    assert process.argv == ("/opt/bin/skopeo", "copy", "a", "b")
    assert dict(process.env) == {"PATH": STANDARD_PATH, "HOME": "/h"}
    assert process.output_files == ("b",)
    assert asked == [ToolRequest("skopeo", "fetching a")]
