# The sd_notify addon (native/sd-notify/sd_notify.c): one N-API module, so the same build loads in Node 20, 22
# and 24. `npm run build` builds it for the host (scripts/build.mjs); the packaging step cross-builds it for each
# architecture and ships build/Release/sd_notify.node at the same relative path.
{
  "targets": [
    {
      "target_name": "sd_notify",
      "sources": ["sd_notify.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
