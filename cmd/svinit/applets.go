package main

// applets is the table of programs in the binary, by name.
var applets map[string]applet

func init() {
	applets = map[string]applet{
		"svinit": runInit,
	}
}
