// The classic image builder behind `POST /build`: Dockerfile front end, build context, executor.
// Imports engine/ (containers and the image store through their interfaces), snapshot/, store/, oci/ and common/.
export { BuildContext, DockerfileNotFoundError } from './build-context.js';
export { BuildStepError, defaultBuildOptions, type BuildOptions, type BuildOutput } from './build-options.js';
export { Builder } from './builder.js';
export { prepareBuild, type PreparedBuild } from './prepare-build.js';
export { DockerfileSyntaxError, parseDockerfile } from './dockerfile.js';
