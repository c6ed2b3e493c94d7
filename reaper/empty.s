// orphans.go declares entersyscall and exitsyscall without bodies (they are
// the runtime's, through go:linkname); the compiler accepts bodiless
// functions only in a package with an assembly file, such as this one.
