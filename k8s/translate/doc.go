// Package translate turns a normalized Compose project into Kubernetes
// objects: typed k8s.io/api values, one set per project, with a report that
// gives every key of the compose file a verdict — mapped, approximated,
// dropped or refused — so nothing is lost silently.
//
// Translate is pure: it reads only the files the project itself names (bind
// mount sources, config and secret files), through Options.Files, and
// writes nothing. WriteDir and Manifests turn a Result into YAML (one file
// per object plus a kustomization.yaml and translation-report.md, or one
// multi-document stream) for `berth k8s render`; package k8s/cluster applies
// the same objects to a cluster.
//
// The mapping, in short (docs/design.md, "Kubernetes translation", has the
// reasons):
//
//   - a service becomes a Deployment; a StatefulSet where it has more than
//     one replica and a named volume of its own (each replica keeps its own
//     claim); a DaemonSet for deploy.mode global; a Job where another service
//     waits for it with service_completed_successfully;
//   - every service name, network alias, link alias and container_name
//     becomes a Service so names resolve as they do under berth; published
//     ports get a NodePort or LoadBalancer Service of their own;
//   - healthchecks become readiness and startup probes (and liveness on
//     request); depends_on becomes init containers that wait for the
//     dependency's Service, or for its Job to complete;
//   - named volumes become PersistentVolumeClaims, bind-mounted project files
//     and configs ConfigMaps, secrets Secrets;
//   - networks become NetworkPolicies that let only services sharing a
//     network talk to each other, with internal networks cut off from the
//     outside.
package translate
