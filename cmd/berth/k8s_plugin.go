package main

// `berth k8s` is built into a second binary, berth-k8s: the same command
// tree built with the tag k8s, which links client-go and k8s.io/api. Their
// package initializers (client-go's scheme registration, reflect2's walk
// of every type in the binary) cost every berth command ~20 ms of start-up
// here and double the binary, so the berth binary leaves them out and
// `berth k8s ...` executes berth-k8s with the same arguments (as docker
// runs its CLI plugins).

const (
	k8sPlugin = "berth-k8s"
	k8sUse    = "k8s COMMAND"
	k8sShort  = "Run the project on Kubernetes"
	k8sLong   = `Translate the compose project into Kubernetes objects and manage them on a
cluster. Every key of the compose file gets a verdict in the translation
report: mapped, approximated, dropped or refused.`
)
