// lk-sbom-scan: the entrypoint of the backend's SBOM generator image, speaking BuildKit's scanner
// protocol (moby/buildkit frontend/attestations/sbom): it scans the filesystem mounted at
// $BUILDKIT_SCAN_SOURCE with syft ($LK_SYFT, default /syft) and writes one in-toto statement
// with the SPDX document as its predicate to $BUILDKIT_SCAN_DESTINATION/sbom.spdx.json (a name
// starting with "sbom." marks BuildKit's core SBOM).
//
// The document is made reproducible: syft's wall-clock `creationInfo.created` becomes
// $SOURCE_DATE_EPOCH (or BuildKit's BUILDKIT_SCAN_SOURCE_DATE_EPOCH parameter) when set, else the
// Unix epoch; the random UUID that ends syft's `documentNamespace` becomes one derived from a
// SHA-256 of the document, so the same filesystem always gives the same bytes.
//
// Stdlib only: it is built with `go build` next to syft, with no module of its own.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

const (
	statementType = "https://in-toto.io/Statement/v0.1"
	predicateSPDX = "https://spdx.dev/Document"
)

var trailingUUID = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// created is the SPDX creation time: SOURCE_DATE_EPOCH when given, else the Unix epoch.
func created(env func(string) string) (string, error) {
	for _, name := range []string{"BUILDKIT_SCAN_SOURCE_DATE_EPOCH", "SOURCE_DATE_EPOCH"} {
		if v := env(name); v != "" {
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil || secs < 0 {
				return "", fmt.Errorf("%s=%q is not a non-negative number of seconds", name, v)
			}
			return time.Unix(secs, 0).UTC().Format(time.RFC3339), nil
		}
	}
	return time.Unix(0, 0).UTC().Format(time.RFC3339), nil
}

// normalise makes syft's SPDX JSON reproducible (see the file comment) and returns the in-toto
// statement BuildKit reads. Objects are re-encoded by encoding/json, whose key order is sorted.
func normalise(spdx []byte, when string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(spdx))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("syft's SPDX output is not a JSON object: %v", err)
	}
	info, ok := doc["creationInfo"].(map[string]any)
	if !ok {
		return nil, errors.New("syft's SPDX output has no creationInfo object")
	}
	info["created"] = when
	namespace, _ := doc["documentNamespace"].(string)
	delete(doc, "documentNamespace")
	canonical, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canonical)
	// An RFC 4122 version 5 style UUID from the digest (name-based, not random).
	sum[6] = (sum[6] & 0x0f) | 0x50
	sum[8] = (sum[8] & 0x3f) | 0x80
	uuid := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	if trailingUUID.MatchString(namespace) {
		namespace = trailingUUID.ReplaceAllString(namespace, uuid)
	} else {
		namespace = "https://anchore.com/syft/dir/sbom-" + uuid
	}
	doc["documentNamespace"] = namespace
	return json.Marshal(map[string]any{
		"_type":         statementType,
		"predicateType": predicateSPDX,
		"subject":       []any{},
		"predicate":     doc,
	})
}

func run() error {
	src, dst := os.Getenv("BUILDKIT_SCAN_SOURCE"), os.Getenv("BUILDKIT_SCAN_DESTINATION")
	if src == "" || dst == "" {
		return errors.New("BUILDKIT_SCAN_SOURCE and BUILDKIT_SCAN_DESTINATION must be set (run by BuildKit as an SBOM generator)")
	}
	when, err := created(os.Getenv)
	if err != nil {
		return err
	}
	syft := os.Getenv("LK_SYFT")
	if syft == "" {
		syft = "/syft"
	}
	tmp, err := os.MkdirTemp("", "lk-sbom-scan")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "sbom.spdx.json")
	cmd := exec.Command(syft, "scan", "--quiet", "--source-name", "sbom", "--output", "spdx-json="+out, "dir:"+src)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s scan %s: %v", syft, src, err)
	}
	spdx, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	statement, err := normalise(spdx, when)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, "sbom.spdx.json"), statement, 0o644)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "lk-sbom-scan: %v\n", err)
		os.Exit(1)
	}
}
