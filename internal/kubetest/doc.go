// Package kubetest runs a real Kubernetes control plane for tests: Debian's
// etcd and kube-apiserver (built from k8s.io/kubernetes by
// scripts/kube-assets.sh) on 127.0.0.1 at free ports, with a token for an
// admin user and a kubeconfig naming the server. There is no scheduler,
// controller-manager or kubelet, so pods never run: tests check what the
// control plane checks — validation, defaulting, server-side apply,
// ownership and deletion.
//
// The binaries come from $KUBEBUILDER_ASSETS (the directory layout
// controller-runtime's envtest uses), else the cache directory
// scripts/kube-assets.sh fills. Start skips the test with a visible message
// when not root (the tier's rule), and fails it when root and the assets are
// missing, so CI never passes without running the tier.
package kubetest
