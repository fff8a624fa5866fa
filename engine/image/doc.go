// Package image owns image references, registry pulls (go-containerregistry), the content store, layer unpacking into overlayfs lower dirs, and load/save of image tarballs.
package image
