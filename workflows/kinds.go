package workflows

// Kinds lists every step kind quell runs, one line each; each is defined,
// description and function together, in a file of its own. Adding a kind is
// that file, one line here, and its test.
func Kinds() []Kind {
	return []Kind{
		isolateKind,
		snapshotKind,
		verifyKind,
		approvalKind,
		reportKind,
		discoverKind,
		rebuildKind,
		replaceKind,
		removeKind,
		deleteKind,
		notifyKind,
		pushKind,
		registryDeleteKind,
		blastRadiusKind,
		k8sIsolateKind,
		k8sSnapshotKind,
		k8sRolloutKind,
		k8sDeletePodKind,
		k8sBlockImageKind,
	}
}
