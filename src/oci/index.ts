// OCI image and runtime spec types, digests and descriptors. Imports common/ only.
