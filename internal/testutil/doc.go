// Package testutil holds helpers shared by berth's tests.
//
// It owns root checks and per-test state roots. It imports no berth
// package; nothing but tests import it.
package testutil
