//go:build extract_no_azure

package location

func init() { leftOut["azblob"] = "extract_no_azure" }
