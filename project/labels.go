package project

// Labels berth writes on containers, networks and volumes: Compose's own,
// so that convergence, `ps` filters and tooling behave as users know them.
const (
	LabelProject         = "com.docker.compose.project"
	LabelService         = "com.docker.compose.service"
	LabelContainerNumber = "com.docker.compose.container-number"
	LabelConfigHash      = "com.docker.compose.config-hash"
	LabelOneoff          = "com.docker.compose.oneoff"
	LabelNetwork         = "com.docker.compose.network"
	LabelVolume          = "com.docker.compose.volume"
	LabelWorkingDir      = "com.docker.compose.project.working_dir"
	LabelConfigFiles     = "com.docker.compose.project.config_files"
	LabelEnvironmentFile = "com.docker.compose.project.environment_file"
	LabelDependencies    = "com.docker.compose.depends_on"
	LabelImage           = "com.docker.compose.image"
	// LabelImageVolumeDigest is "target=image ID" of each `type: image`
	// volume, sorted and comma separated.
	LabelImageVolumeDigest = "com.docker.compose.image-volume-digest"
	LabelVersion           = "com.docker.compose.version"
	LabelReplace           = "com.docker.compose.replace"
	LabelSlug              = "com.docker.compose.slug"
)

// ComposeVersion is com.docker.compose.version on what berth creates: the
// Compose release whose behaviour (labels, config hash, naming) berth
// follows. Tools compare it as a version, so it is one.
const ComposeVersion = "5.0.0"
