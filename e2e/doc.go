// Package e2e holds tests of the built berth binary, run as root against real kernel features.
package e2e
