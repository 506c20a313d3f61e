from linuxkit.pkglib import pins

A, B = "a" * 40, "b" * 40


def test_dockerfile_images_every_form() -> None:
    text = (
        f"ARG BASE=linuxkit/alpine:{A}\n"
        f"FROM --platform=$BUILDPLATFORM linuxkit/go:{A}-amd64 AS build\n"
        "FROM ${BASE}\n"
        f"COPY --from=linuxkit/ca:{A} /etc/ssl /etc/ssl\n"
        f"RUN --mount=type=bind,from=linuxkit/tools:{A},target=/t true\n"
        f"# FROM linuxkit/commented:{A}\n"
        "COPY --from=build /out /\n"
    )
    found = [(r.line, r.repository) for r in pins.dockerfile_images(text, "pkg/x/Dockerfile")]
    assert found == [(1, "linuxkit/alpine"), (2, "linuxkit/go"), (4, "linuxkit/ca"), (5, "linuxkit/tools")]


def test_outside_dockerfiles_only_whitespace_before_the_name_counts_as_the_sed_script() -> None:
    text = f"GO=linuxkit/go:{A}\n\tdocker run linuxkit/go:{A} make\n"
    assert [r.line for r in pins.references(text, "pkg/x/Makefile")] == [2]


def test_rewrite_keeps_suffixes_and_drops_dirty_and_stale_digests() -> None:
    text = (
        f"init:\n  - linuxkit/init:{A}-dirty-1d75567\n"
        f"  - linuxkit/init:{A}-amd64\n"
        f"  - linuxkit/init:{A}@sha256:{'c' * 64}\n"
        f"  - linuxkit/init:{B}\n"  # current
        "  - linuxkit/init:latest\n"  # not a pin
        f"  - linuxkit/other:{A}\n"  # not an in-repo package
    )
    new, stale = pins.rewrite(text, "examples/x.yml", {"linuxkit/init": B})
    assert new.splitlines()[1:] == [
        f"  - linuxkit/init:{B}", f"  - linuxkit/init:{B}-amd64", f"  - linuxkit/init:{B}",
        f"  - linuxkit/init:{B}", "  - linuxkit/init:latest", f"  - linuxkit/other:{A}",
    ]  # fmt: skip
    assert [(s.line, s.current) for s in stale] == [
        (2, f"linuxkit/init:{B}"), (3, f"linuxkit/init:{B}-amd64"), (4, f"linuxkit/init:{B}")
    ]


def test_repin_with_a_tag_template_suffix() -> None:
    assert pins.repin(f"{A}-arm-amd64", f"{B}-arm") == f"{B}-arm-amd64"
    assert pins.repin("v1.2", B) is None


def test_pin_files_are_the_sed_scripts() -> None:
    assert pins.is_pin_file("pkg/a/Dockerfile") and pins.is_pin_file("test/cases/x/test.sh")
    assert pins.is_pin_file("linuxkit.yml") and pins.is_pin_file("a/b.yaml.in")
    assert not pins.is_pin_file("Makefile") and not pins.is_pin_file("src/vendor/x/a.yml")
    assert not pins.is_pin_file("pkg/a/build-args")
