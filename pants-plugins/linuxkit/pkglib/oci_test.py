from __future__ import annotations

import hashlib
import json

import pytest

from linuxkit.pkglib import oci
from linuxkit.pkglib.oci import Descriptor, Index, OciError, Platform

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
C = "sha256:" + "c" * 64

# Decoded with go-containerregistry v0.22.1 into v1.IndexManifest, then json.Marshal /
# json.MarshalIndent(…, "", "   ") (the golden strings below are Go's output, verbatim).
TRICKY_INPUT = {
    "schemaVersion": 2,
    "mediaType": oci.OCI_INDEX,
    "manifests": [
        {
            "platform": {
                "features": ["f1"],
                "variant": "v8",
                "os.features": ["a", "b"],
                "os.version": "10.0.1",
                "os": "linux",
                "architecture": "arm64",
            },
            "artifactType": "x/y",
            "annotations": {
                "z": "<&>",
                "a": 'caf\u00e9 \u2028 \u2029 \x01 "q" \\ /',
                "\u00e9": "1",
                "B": "2",
            },
            "urls": ["http://a?b=1&c=<2>"],
            "data": "e30=",
            "digest": A,
            "size": 2,
            "mediaType": oci.OCI_MANIFEST,
            "unknownField": 1,
        },
        {"mediaType": oci.OCI_MANIFEST, "size": 0, "digest": B, "annotations": {}, "platform": {}},
    ],
    "annotations": {"k": "v"},
    "subject": {"mediaType": "m", "size": 1, "digest": C},
}
GO_COMPACT = (
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":2,"digest":"' + A + '",'
    '"data":"e30=","urls":["http://a?b=1\\u0026c=\\u003c2\\u003e"],"annotations":{"B":"2",'
    '"a":"caf\u00e9 \\u2028 \\u2029 \\u0001 \\"q\\" \\\\ /","z":"\\u003c\\u0026\\u003e","\u00e9":"1"},'
    '"platform":{"architecture":"arm64","os":"linux","os.version":"10.0.1","os.features":["a","b"],'
    '"variant":"v8","features":["f1"]},"artifactType":"x/y"},'
    '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":0,"digest":"' + B + '",'
    '"platform":{"architecture":"","os":""}}],"annotations":{"k":"v"},'
    '"subject":{"mediaType":"m","size":1,"digest":"' + C + '"}}'
)
GO_INDENTED = """{
   "schemaVersion": 2,
   "mediaType": "application/vnd.oci.image.index.v1+json",
   "manifests": [
      {
         "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "size": 2,
         "digest": "%(A)s",
         "data": "e30=",
         "urls": [
            "http://a?b=1\\u0026c=\\u003c2\\u003e"
         ],
         "annotations": {
            "B": "2",
            "a": "caf\u00e9 \\u2028 \\u2029 \\u0001 \\"q\\" \\\\ /",
            "z": "\\u003c\\u0026\\u003e",
            "\u00e9": "1"
         },
         "platform": {
            "architecture": "arm64",
            "os": "linux",
            "os.version": "10.0.1",
            "os.features": [
               "a",
               "b"
            ],
            "variant": "v8",
            "features": [
               "f1"
            ]
         },
         "artifactType": "x/y"
      },
      {
         "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "size": 0,
         "digest": "%(B)s",
         "platform": {
            "architecture": "",
            "os": ""
         }
      }
   ],
   "annotations": {
      "k": "v"
   },
   "subject": {
      "mediaType": "m",
      "size": 1,
      "digest": "%(C)s"
   }
}""" % {"A": A, "B": B, "C": C}


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_go_json_matches_go_containerregistry_byte_for_byte() -> None:
    index = oci.parse_index(json.dumps(TRICKY_INPUT))
    assert oci.go_json(index) == GO_COMPACT
    assert oci.go_json_indent(index) == GO_INDENTED
    assert oci.go_json_indent(index, indent="   ") == GO_INDENTED


def test_go_json_field_order_and_omitempty_from_python_values() -> None:
    desc = Descriptor(
        media_type=oci.OCI_MANIFEST,
        size=3,
        digest=A,
        annotations={"z": "1", "a": "<x>"},
        platform=Platform(architecture="amd64", os="linux", variant="v2"),
    )
    assert oci.go_json(desc) == (
        '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":3,"digest":"' + A + '",'
        '"annotations":{"a":"\\u003cx\\u003e","z":"1"},'
        '"platform":{"architecture":"amd64","os":"linux","variant":"v2"}}'
    )
    # Plain dicts are Go maps: sorted keys.
    assert oci.go_json({"b": [1, True, None], "a": "&"}) == '{"a":"\\u0026","b":[1,true,null]}'


def test_empty_index_and_indent_keeps_empty_containers_inline() -> None:
    assert (
        oci.go_json(Index())
        == '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    )
    assert oci.go_json_indent(Index()) == (
        '{\n   "schemaVersion": 2,\n   "mediaType": "application/vnd.oci.image.index.v1+json",\n'
        '   "manifests": []\n}'
    )
    assert oci.indent_json('{"a":{},"b":[{}],"c":"{[,:]}"}', "  ") == (
        '{\n  "a": {},\n  "b": [\n    {}\n  ],\n  "c": "{[,:]}"\n}'
    )


def test_decoding_drops_unknown_fields_and_validates() -> None:
    desc = Descriptor.from_json({"mediaType": "m", "size": 2, "digest": A, "data": "e30=", "x": 1})
    assert (
        desc.data == b"{}"
        and oci.go_json(desc) == '{"mediaType":"m","size":2,"digest":"' + A + '","data":"e30="}'
    )
    with pytest.raises(OciError, match="invalid descriptor digest"):
        Descriptor.from_json({"mediaType": "m", "size": 1, "digest": "sha256:../../etc"})
    with pytest.raises(OciError, match="size"):
        Descriptor.from_json({"mediaType": "m", "size": "1", "digest": A})
    with pytest.raises(OciError, match="not valid JSON"):
        oci.parse_index(b"{")
    with pytest.raises(OciError):
        oci.blob_relpath("sha512:" + "a" * 128)


def test_descriptor_helpers_are_immutable_and_hashable() -> None:
    desc = Descriptor(media_type=oci.OCI_INDEX, size=1, digest=A, annotations={"b": "2", "a": "1"})
    assert desc.annotations == (("a", "1"), ("b", "2"))
    renamed = desc.with_annotation(oci.ANNOTATION_REF_NAME, "docker.io/x/y:z")
    assert renamed.ref_name == "docker.io/x/y:z" and desc.ref_name is None
    assert renamed.is_index and not renamed.is_image
    assert len({desc, desc.with_annotations({"a": "1", "b": "2"})}) == 1


def test_build_index() -> None:
    children = [
        Descriptor(oci.OCI_MANIFEST, 10, B, platform=Platform("arm64", "linux")),
        Descriptor(oci.OCI_MANIFEST, 20, A, platform=Platform("amd64", "linux")),
    ]
    blob, desc = oci.build_index(children)
    assert (
        blob
        == (
            '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
            '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"'
            + B
            + '",'
            '"platform":{"architecture":"arm64","os":"linux"}},'
            '{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":20,"digest":"'
            + A
            + '",'
            '"platform":{"architecture":"amd64","os":"linux"}}]}'
        ).encode()
    )
    assert desc == Descriptor(oci.OCI_INDEX, len(blob), digest(blob))
    assert oci.parse_index(blob).manifests == tuple(children)
