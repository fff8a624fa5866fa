// Package cluster puts a translated Compose project on a Kubernetes cluster
// and takes it off again: the engine behind `berth k8s up|ps|logs|down`.
//
// Up server-side applies (field manager "berth", forced) the objects of a
// translate.Result into the project's namespace, Namespace first and
// workloads last, and prunes what carries the project's labels but is no
// longer rendered (PersistentVolumeClaims excepted: their data stays until
// `down -v`). An object the server refuses fails Up with the server's
// message and the compose file position of the key it came from. Re-applying
// an unchanged project changes nothing on the server. Wait polls until
// every Deployment, StatefulSet and DaemonSet is available and every Job
// complete.
// Ps, Logs and Down find the project's objects by label — never by a
// record kept on the client — so they work from any machine holding the
// kubeconfig.
//
// Talking to the cluster is client-go: a dynamic client and a RESTMapper
// from discovery for apply and prune (any kind the translator renders), the
// typed clientset for ps and logs.
package cluster
