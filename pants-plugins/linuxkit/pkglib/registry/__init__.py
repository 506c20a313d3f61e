"""Registries, through the distribution HTTP API, in pure Python (stdlib `http.client`, no
Pants imports, no third-party packages): `references` (image names), `credentials` (linuxkit's
`--registry-creds` and the docker config), `transport` (HTTP, retries, authentication), `client`
(manifests and blobs of one repository), `push` (an OCI archive to a registry) and `remote`
(is a platform already published)."""
