// Package image owns image references, registry pulls (go-containerregistry),
// the content store, layer unpacking into overlayfs lower dirs, and load/save
// of image tarballs.
//
// The store lives under one root (the caller passes $BERTH_ROOT/image):
//
//	blobs/sha256/<hex>      manifests, configs and compressed layers, by digest;
//	                        written to a temp file while hashed, verified, fsynced, renamed
//	layers/<chain hex>/diff a layer unpacked as an overlayfs lower dir, keyed by chain ID
//	                        and shared by every image that has the same layer stack below it
//	layers/<chain hex>/size the layer's unpacked size in bytes
//	index.json              names → manifest digests, written atomically under index.lock
//	locks/                  per-layer flocks so that a layer is fetched and unpacked once,
//	                        even by two processes pulling at the same time
//	gc.lock                 imports hold it shared, removal of content holds it exclusive
//
// Nothing half-written is ever visible under blobs/ or layers/: a failed
// import leaves the store as it was.
//
// It imports internal/fsutil and internal/layout only of berth's packages;
// it must not import package engine or any other engine/ package.
package image
