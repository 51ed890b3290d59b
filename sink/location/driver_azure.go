//go:build !extract_no_azure

package location

// The azblob:// driver. It is the larger part of the binary (about 7 MB); build with
// -tags extract_no_azure to leave it out.
import _ "gocloud.dev/blob/azureblob"

func init() { schemes = append(schemes, "azblob") }
