// Package build builds images from Dockerfiles, daemonless, into the image
// store: the `build:` of compose services, `berth build` and
// `berth image build`.
//
// The Dockerfile is parsed with BuildKit's published parser and
// instructions packages; words are expanded with BuildKit's shell.Lex, with
// the ARG and ENV scoping rules of BuildKit (global ARGs before the first
// FROM, stage ARGs, --build-arg, the predefined proxy args). Only the
// stages the target needs are built.
//
// Every filesystem-changing step (RUN, COPY, ADD, WORKDIR) runs over an
// overlay of the layers below it with a fresh upper dir: RUN in a
// container of the OCI runtime (network "default" is the host's network
// namespace, like `docker build --network host`: it needs no bridge and
// works offline), COPY/ADD and WORKDIR by the builder itself. The upper dir
// becomes the step's layer: kept unpacked (it is already in overlay form,
// so it serves as a lower dir of later steps as is) and as a gzip tar blob
// whose overlay whiteouts are turned into OCI whiteouts.
//
// The build cache lives under the builder's state dir:
//
//	keys/<key>.json        a step's cache key → its layer (diffID, digest) or "no layer", and its time
//	layers/<diffID>/diff   the layer unpacked, in overlay form
//	layers/<diffID>/blob   the layer as a gzip tar
//	tmp/                   work dirs of running steps (removed when a step ends)
//
// A step's key hashes its parent's key, the instruction after expansion,
// the build args it sees and, for COPY/ADD, the paths, modes and contents
// of the files it copies; a hit costs no work at all. Cached steps keep
// the time they first ran, so a build whose steps are all cached makes the
// very same image (same ID) as the one before it.
//
// Paths in the image (WORKDIR, COPY/ADD destinations) are resolved as the
// container sees them: through the image's symlinks, absolute ones
// included, never out of the rootfs. ONBUILD instructions are recorded in
// the image; a build FROM such an image runs them right after its FROM.
// COPY --exclude patterns match paths inside a copied directory (and a
// copied file's path or name); .dockerignore patterns match paths from
// the context root, and "!" re-inclusions bring their parent directories.
//
// RUN --mount types cache (mounts/<hash of its id or target>, kept across
// builds, outside the cache key), bind (context files copied with
// .dockerignore applied, or a throwaway overlay of a stage or image; their
// content in the key), tmpfs, secret and ssh are supported (secrets.go:
// secrets and agent sockets live in a tmpfs of the step's, outside the
// rootfs, bound at their targets; a secret's content is never in the
// key); a secret or ssh id not given is skipped unless required.
// Additional contexts (a directory or docker-image://REF) serve FROM,
// COPY --from and RUN --mount=from (contexts.go).
//
// Plan and Schedule (schedule.go) order and run the builds of several
// services at once: one job per image, a job waiting for the jobs whose
// images its Dockerfile or contexts use.
//
// Heredocs run as BuildKit runs them (RUN <<EOF
// through the shell, a #! one as a script at /dev/pipes/; COPY <<EOF).
//
// The result is assembled with go-containerregistry's mutate (history
// entries as Docker writes them) and imported into the image store; tags
// are set only once everything succeeded.
//
// Of berth's packages it imports engine/image, engine/rootfs,
// engine/ociruntime, network (bridges, IPAM, nft, dns) and internal packages;
// it must not import package engine, which hands it the image store, the
// runtime, IPAM and the firewall.
package build
