// Package testutil holds helpers shared by berth's tests: root checks and per-test state roots.
package testutil
