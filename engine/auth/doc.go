// Package auth owns registry credentials as Docker keeps them: the
// `auths`, `credsStore` and `credHelpers` of ~/.docker/config.json
// ($DOCKER_CONFIG/config.json), read and written with Docker's own
// config types so the file is byte for byte what `docker login` writes,
// and credential helpers spoken to with Docker's helper protocol
// (`docker-credential-NAME store|get|erase`). It also checks a user name
// and password against a registry (Verify), which `berth login` does
// before it stores anything.
//
// The file is written atomically and 0600 (never left to the umask or to
// an old file's looser mode); secrets are never logged.
//
// It imports internal/fsutil only of berth's packages; it must not import
// the engine or image (image asks it for credentials).
package auth
