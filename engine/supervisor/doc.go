// Package supervisor is the per-project supervisor process: it holds containers' stdio, writes their logs, reaps exits, applies restart policies and healthchecks, and serves the project's DNS.
package supervisor
