// Package codesize holds the test that keeps berth's functions short:
// no non-test function over 80 lines or cyclomatic complexity 20 (the
// architecture issue's rule) unless its doc comment says why with
// "long:". It has no code of its own and imports only the standard
// library.
package codesize
