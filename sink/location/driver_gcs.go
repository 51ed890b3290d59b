//go:build !extract_no_gcs

package location

// The gs:// driver. It is the larger part of the binary (about 21 MB: gRPC and the Google Cloud client); build with
// -tags extract_no_gcs to leave it out.
import _ "gocloud.dev/blob/gcsblob"

func init() { schemes = append(schemes, "gs") }
