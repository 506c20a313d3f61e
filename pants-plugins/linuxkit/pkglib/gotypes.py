"""Go type descriptions for the structs LinuxKit decodes from `build.yml`.

`goyaml` decodes YAML into these types the way gopkg.in/yaml.v3 does (strict, raw scalar text for
strings), and `gojson` encodes the result the way Go's encoding/json does (declaration order,
`omitempty`, Go's escaping). Both need the same facts about each field, so they live here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple, Union


@dataclass(frozen=True)
class Scalar:
    """A Go scalar kind: "string", "bool", "any" (interface{}) or an integer kind."""

    kind: str

    @property
    def is_int(self) -> bool:
        return self.kind.startswith(("int", "uint"))

    @property
    def int_bounds(self) -> tuple[int, int]:
        bits = int(self.kind.lstrip("uint") or 64)
        if self.kind.startswith("uint"):
            return 0, 2**bits - 1
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


@dataclass(frozen=True)
class Slice:
    elem: "GoType"


@dataclass(frozen=True)
class Map:
    """A `map[string]T`; encoding/json emits its keys sorted."""

    elem: "GoType"


@dataclass(frozen=True)
class Field:
    go_name: str
    yaml_key: str
    json_key: str
    type: "GoType"
    pointer: bool = False
    omitempty: bool = True


@dataclass(frozen=True)
class Struct:
    name: str  # the Go type name, used in error messages
    fields: Tuple[Field, ...]

    def field(self, yaml_key: str) -> Field | None:
        for f in self.fields:
            if f.yaml_key == yaml_key:
                return f
        return None


GoType = Union[Scalar, Slice, Map, Struct]

STRING = Scalar("string")
BOOL = Scalar("bool")
ANY = Scalar("any")
INT = Scalar("int64")
UINT64 = Scalar("uint64")
UINT32 = Scalar("uint32")
UINT16 = Scalar("uint16")
STRINGS = Slice(STRING)


def tagged(go_name: str, key: str, type: GoType, *, pointer=False, omitempty=True) -> Field:
    """A field with `yaml:"key" json:"key"` tags (LinuxKit's own structs)."""
    return Field(go_name, key, key, type, pointer=pointer, omitempty=omitempty)


def untagged(go_name: str, json_key: str, type: GoType, *, pointer=False, omitempty=True) -> Field:
    """A runtime-spec field: json tag only, so yaml.v3 uses the lower-cased Go field name."""
    return Field(go_name, go_name.lower(), json_key, type, pointer=pointer, omitempty=omitempty)


# github.com/opencontainers/runtime-spec/specs-go (config.go)
LINUX_ID_MAPPING = Struct(
    "specs.LinuxIDMapping",
    (
        untagged("ContainerID", "containerID", UINT32, omitempty=False),
        untagged("HostID", "hostID", UINT32, omitempty=False),
        untagged("Size", "size", UINT32, omitempty=False),
    ),
)

MOUNT = Struct(
    "specs.Mount",
    (
        untagged("Destination", "destination", STRING, omitempty=False),
        untagged("Type", "type", STRING),
        untagged("Source", "source", STRING),
        untagged("Options", "options", STRINGS),
        untagged("UIDMappings", "uidMappings", Slice(LINUX_ID_MAPPING)),
        untagged("GIDMappings", "gidMappings", Slice(LINUX_ID_MAPPING)),
    ),
)

LINUX_DEVICE_CGROUP = Struct(
    "specs.LinuxDeviceCgroup",
    (
        untagged("Allow", "allow", BOOL, omitempty=False),
        untagged("Type", "type", STRING),
        untagged("Major", "major", INT, pointer=True),
        untagged("Minor", "minor", INT, pointer=True),
        untagged("Access", "access", STRING),
    ),
)

LINUX_MEMORY = Struct(
    "specs.LinuxMemory",
    (
        untagged("Limit", "limit", INT, pointer=True),
        untagged("Reservation", "reservation", INT, pointer=True),
        untagged("Swap", "swap", INT, pointer=True),
        untagged("Kernel", "kernel", INT, pointer=True),
        untagged("KernelTCP", "kernelTCP", INT, pointer=True),
        untagged("Swappiness", "swappiness", UINT64, pointer=True),
        untagged("DisableOOMKiller", "disableOOMKiller", BOOL, pointer=True),
        untagged("UseHierarchy", "useHierarchy", BOOL, pointer=True),
        untagged("CheckBeforeUpdate", "checkBeforeUpdate", BOOL, pointer=True),
    ),
)

LINUX_CPU = Struct(
    "specs.LinuxCPU",
    (
        untagged("Shares", "shares", UINT64, pointer=True),
        untagged("Quota", "quota", INT, pointer=True),
        untagged("Burst", "burst", UINT64, pointer=True),
        untagged("Period", "period", UINT64, pointer=True),
        untagged("RealtimeRuntime", "realtimeRuntime", INT, pointer=True),
        untagged("RealtimePeriod", "realtimePeriod", UINT64, pointer=True),
        untagged("Cpus", "cpus", STRING),
        untagged("Mems", "mems", STRING),
        untagged("Idle", "idle", INT, pointer=True),
    ),
)

LINUX_PIDS = Struct("specs.LinuxPids", (untagged("Limit", "limit", INT, pointer=True),))

LINUX_WEIGHT_DEVICE = Struct(
    "specs.LinuxWeightDevice",
    (
        untagged("Major", "major", INT, omitempty=False),
        untagged("Minor", "minor", INT, omitempty=False),
        untagged("Weight", "weight", UINT16, pointer=True),
        untagged("LeafWeight", "leafWeight", UINT16, pointer=True),
    ),
)

LINUX_THROTTLE_DEVICE = Struct(
    "specs.LinuxThrottleDevice",
    (
        untagged("Major", "major", INT, omitempty=False),
        untagged("Minor", "minor", INT, omitempty=False),
        untagged("Rate", "rate", UINT64, omitempty=False),
    ),
)

LINUX_BLOCK_IO = Struct(
    "specs.LinuxBlockIO",
    (
        untagged("Weight", "weight", UINT16, pointer=True),
        untagged("LeafWeight", "leafWeight", UINT16, pointer=True),
        untagged("WeightDevice", "weightDevice", Slice(LINUX_WEIGHT_DEVICE)),
        untagged("ThrottleReadBpsDevice", "throttleReadBpsDevice", Slice(LINUX_THROTTLE_DEVICE)),
        untagged("ThrottleWriteBpsDevice", "throttleWriteBpsDevice", Slice(LINUX_THROTTLE_DEVICE)),
        untagged("ThrottleReadIOPSDevice", "throttleReadIOPSDevice", Slice(LINUX_THROTTLE_DEVICE)),
        untagged(
            "ThrottleWriteIOPSDevice", "throttleWriteIOPSDevice", Slice(LINUX_THROTTLE_DEVICE)
        ),
    ),
)

LINUX_HUGEPAGE_LIMIT = Struct(
    "specs.LinuxHugepageLimit",
    (
        untagged("Pagesize", "pageSize", STRING, omitempty=False),
        untagged("Limit", "limit", UINT64, omitempty=False),
    ),
)

LINUX_INTERFACE_PRIORITY = Struct(
    "specs.LinuxInterfacePriority",
    (
        untagged("Name", "name", STRING, omitempty=False),
        untagged("Priority", "priority", UINT32, omitempty=False),
    ),
)

LINUX_NETWORK = Struct(
    "specs.LinuxNetwork",
    (
        untagged("ClassID", "classID", UINT32, pointer=True),
        untagged("Priorities", "priorities", Slice(LINUX_INTERFACE_PRIORITY)),
    ),
)

LINUX_RDMA = Struct(
    "specs.LinuxRdma",
    (
        untagged("HcaHandles", "hcaHandles", UINT32, pointer=True),
        untagged("HcaObjects", "hcaObjects", UINT32, pointer=True),
    ),
)

LINUX_RESOURCES = Struct(
    "specs.LinuxResources",
    (
        untagged("Devices", "devices", Slice(LINUX_DEVICE_CGROUP)),
        untagged("Memory", "memory", LINUX_MEMORY, pointer=True),
        untagged("CPU", "cpu", LINUX_CPU, pointer=True),
        untagged("Pids", "pids", LINUX_PIDS, pointer=True),
        untagged("BlockIO", "blockIO", LINUX_BLOCK_IO, pointer=True),
        untagged("HugepageLimits", "hugepageLimits", Slice(LINUX_HUGEPAGE_LIMIT)),
        untagged("Network", "network", LINUX_NETWORK, pointer=True),
        untagged("Rdma", "rdma", Map(LINUX_RDMA)),
        untagged("Unified", "unified", Map(STRING)),
    ),
)

# github.com/linuxkit/linuxkit/src/cmd/linuxkit/moby (config.go)
DEVICE = Struct(
    "moby.Device",
    (
        tagged("Path", "path", STRING, omitempty=False),
        tagged("Type", "type", STRING, omitempty=False),
        tagged("Major", "major", INT, omitempty=False),
        tagged("Minor", "minor", INT, omitempty=False),
        tagged("Mode", "mode", STRING),
    ),
)

NAMESPACES = Struct(
    "moby.Namespaces",
    tuple(
        tagged(name, name.lower(), STRING, pointer=True)
        for name in ("Cgroup", "Ipc", "Mnt", "Net", "Pid", "User", "Uts")
    ),
)

INTERFACE = Struct(
    "moby.Interface",
    (
        tagged("Name", "name", STRING),
        tagged("Add", "add", STRING),
        tagged("Peer", "peer", STRING),
        tagged("CreateInRoot", "createInRoot", BOOL, omitempty=False),
    ),
)

RUNTIME = Struct(
    "moby.Runtime",
    (
        tagged("Cgroups", "cgroups", STRINGS, pointer=True),
        tagged("Mounts", "mounts", Slice(MOUNT), pointer=True),
        tagged("Mkdir", "mkdir", STRINGS, pointer=True),
        tagged("Interfaces", "interfaces", Slice(INTERFACE), pointer=True),
        # A struct value, not a pointer: encoding/json never omits it ("bindNS":{}).
        tagged("BindNS", "bindNS", NAMESPACES),
        tagged("Namespace", "namespace", STRING, pointer=True),
    ),
)

IMAGE_CONFIG = Struct(
    "moby.ImageConfig",
    (
        tagged("Capabilities", "capabilities", STRINGS, pointer=True),
        tagged("CapabilitiesAdd", "capabilities.add", STRINGS, pointer=True),
        tagged("Ambient", "ambient", STRINGS, pointer=True),
        tagged("Mounts", "mounts", Slice(MOUNT), pointer=True),
        tagged("Binds", "binds", STRINGS, pointer=True),
        tagged("BindsAdd", "binds.add", STRINGS, pointer=True),
        tagged("Devices", "devices", Slice(DEVICE), pointer=True),
        tagged("Tmpfs", "tmpfs", STRINGS, pointer=True),
        tagged("Command", "command", STRINGS, pointer=True),
        tagged("Env", "env", STRINGS, pointer=True),
        tagged("Cwd", "cwd", STRING),
        tagged("Net", "net", STRING),
        tagged("Pid", "pid", STRING),
        tagged("Ipc", "ipc", STRING),
        tagged("Uts", "uts", STRING),
        tagged("Userns", "userns", STRING),
        tagged("Hostname", "hostname", STRING),
        tagged("Readonly", "readonly", BOOL, pointer=True),
        tagged("MaskedPaths", "maskedPaths", STRINGS, pointer=True),
        tagged("ReadonlyPaths", "readonlyPaths", STRINGS, pointer=True),
        tagged("UID", "uid", ANY, pointer=True),
        tagged("GID", "gid", ANY, pointer=True),
        tagged("AdditionalGids", "additionalGids", Slice(ANY), pointer=True),
        tagged("NoNewPrivileges", "noNewPrivileges", BOOL, pointer=True),
        tagged("OOMScoreAdj", "oomScoreAdj", INT, pointer=True),
        tagged("RootfsPropagation", "rootfsPropagation", STRING, pointer=True),
        tagged("CgroupsPath", "cgroupsPath", STRING, pointer=True),
        tagged("Resources", "resources", LINUX_RESOURCES, pointer=True),
        tagged("Sysctl", "sysctl", Map(STRING), pointer=True),
        tagged("Rlimits", "rlimits", STRINGS, pointer=True),
        tagged("UIDMappings", "uidMappings", Slice(LINUX_ID_MAPPING), pointer=True),
        tagged("GIDMappings", "gidMappings", Slice(LINUX_ID_MAPPING), pointer=True),
        tagged("Annotations", "annotations", Map(STRING), pointer=True),
        tagged("Runtime", "runtime", RUNTIME, pointer=True),
    ),
)

DOCKER_IMAGES = Struct(
    "pkglib.dockerDepends",
    (
        tagged("TargetDir", "target-dir", STRING),
        tagged("Target", "target", STRING),
        tagged("FromFile", "from-file", STRING),
        tagged("List", "list", STRINGS),
    ),
)

DEPENDS = Struct("pkglib.dependencies", (tagged("DockerImages", "docker-images", DOCKER_IMAGES),))

PKG_INFO = Struct(
    "pkglib.pkgInfo",
    (
        tagged("Image", "image", STRING),
        tagged("Org", "org", STRING),
        tagged("Tag", "tag", STRING),
        tagged("Dockerfile", "dockerfile", STRING),
        tagged("Arches", "arches", STRINGS),
        tagged("ExtraSources", "extra-sources", STRINGS),
        tagged("GitRepo", "gitrepo", STRING),
        tagged("Network", "network", BOOL),
        tagged("DisableCache", "disable-cache", BOOL),
        # Not in today's linuxkit pkgInfo (its CLI rejects the key); the older packages doc's
        # Docker Content Trust switch, which here turns off cosign signing.
        tagged("DisableContentTrust", "disable-content-trust", BOOL),
        tagged("Config", "config", IMAGE_CONFIG, pointer=True),
        tagged("BuildArgs", "buildArgs", STRINGS, pointer=True),
        tagged("Depends", "depends", DEPENDS),
    ),
)
