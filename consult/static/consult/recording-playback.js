// The playback page: a WebM file written by MediaRecorder carries no duration in its header,
// so the player reports Infinity until it has seen the end. Seek far past the end once, let
// the player find the real duration, then go back to the start: the seek bar then works.
(() => {
  "use strict";
  const video = document.getElementById("playback");
  if (!video) return;
  video.addEventListener("loadedmetadata", () => {
    if (video.duration !== Infinity && !Number.isNaN(video.duration)) return;
    const back = () => {
      if (!Number.isFinite(video.duration)) return;
      video.removeEventListener("durationchange", back);
      video.currentTime = 0;
    };
    video.addEventListener("durationchange", back);
    video.currentTime = 1e101;
  });
})();
