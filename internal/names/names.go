package names

import (
	"errors"
	"fmt"
	"regexp"
)

// maxFileName is the longest name a Linux file system stores in one path
// component; every name here becomes one.
const maxFileName = 255

// maxNetworkName bounds network names. Docker sets no bound, but a network's
// name ends up in file names, labels and error messages; 128 is generous for
// every generated "<project>_<key>" name.
const maxNetworkName = 128

// restricted is Docker's character rule for container and volume names
// (moby daemon/names.RestrictedNameChars): an ASCII letter or digit, then
// letters, digits, '_', '.' or '-'; at least two characters in all. It
// contains no '/', no NUL and cannot start with '.', so no name made of it is
// "." or ".." or holds a path separator.
var restricted = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// configKey is the compose-spec's pattern for the keys of configs, secrets,
// volumes and networks.
var configKey = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// project is the compose-spec rule for project names: lower-case letters,
// digits, '_' and '-', starting with a letter or digit.
var project = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ValidContainerName reports whether name may be a container's name
// (container_name, or a name berth generates). It is Docker's rule without the
// optional leading '/': berth stores names without it, and accepting both
// "/web" and "web" would give one container two spellings.
func ValidContainerName(name string) error {
	return check("container", name, restricted, maxFileName,
		"only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters")
}

// ValidVolumeName reports whether name may be a volume's name. It is the
// local driver's rule (moby volume/local): at least two characters of the
// restricted set, so a volume name is always one safe path component.
func ValidVolumeName(name string) error {
	return check("volume", name, restricted, maxFileName,
		"only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters")
}

// ValidNetworkName reports whether name may be a network's name. Docker
// itself barely restricts network names, but berth turns them into state file
// names, so they follow the container rule with a length bound of their own.
func ValidNetworkName(name string) error {
	return check("network", name, restricted, maxNetworkName,
		"only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters")
}

// ValidProjectName reports whether name may be a project's name, by the
// compose-spec rule (which docker compose enforces for -p and `name:`).
func ValidProjectName(name string) error {
	return check("project", name, project, maxFileName,
		"it must contain only lowercase letters, digits, dashes and underscores, and start with a letter or digit")
}

// ValidConfigName reports whether name may be the key of a top-level config
// or secret (kind says which): berth writes it as a file name under the
// container's directory. The rule is the compose-spec's key pattern, less
// "." and "..", so that the name is always one path component of its own.
func ValidConfigName(kind, name string) error {
	if name == "." || name == ".." {
		return fmt.Errorf("%s name %q: %w: it must be a file name, not %q", kind, name, ErrInvalid, name)
	}
	return check(kind, name, configKey, maxFileName,
		"only [a-zA-Z0-9._-] are allowed")
}

// ErrInvalid is wrapped by every error of this package, so that callers can
// tell a refused name from other failures with errors.Is.
var ErrInvalid = errors.New("invalid name")

// check applies re and the length bound, with an error that quotes the name
// and says the rule.
func check(kind, name string, re *regexp.Regexp, max int, rule string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name %q: %w: it is empty", kind, name, ErrInvalid)
	case len(name) > max:
		return fmt.Errorf("%s name %.40q...: %w: longer than %d characters", kind, name, ErrInvalid, max)
	case !re.MatchString(name):
		return fmt.Errorf("%s name %q: %w: %s", kind, name, ErrInvalid, rule)
	}
	return nil
}
