// Package project loads Compose projects with compose-go v2, exactly as
// `docker compose` does: file discovery (compose.yaml … searched upward,
// plus compose.override.*), -f merging, COMPOSE_FILE, .env and --env-file,
// interpolation, profiles, extends, include, and project-name
// normalization. It adds what berth needs on top: errors that name the
// file, line, service and key at fault; the consistency checks Compose
// does at `up` time (container_name with replicas); the dependency edges
// of the service graph; and the labels berth writes on its objects.
//
// It also makes and checks what `berth publish` pushes (publish.go) and
// loads `-f oci://` projects back (oci.go, compose-go's ResourceLoader),
// the only place it talks to a registry or writes files (its cache).
//
// It does no other I/O than reading compose and env files, and imports no
// engine code (a test enforces this).
package project
