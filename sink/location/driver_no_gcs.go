//go:build extract_no_gcs

package location

func init() { leftOut["gs"] = "extract_no_gcs" }
