// Badge sign-in: read the QR code from the camera with jsQR and post it to the portal.
// A badge scanned with a phone camera opens /d/<slug>/badge#hrb1.<credential>: the fragment
// never reaches a server log; we post it at once and clear it from the address bar.
(function () {
  "use strict";
  var root = document.getElementById("badge-scanner");
  if (!root) { return; }
  var mark = root.getAttribute("data-mark");
  if (!mark || mark.length < 3) { return; }
  var video = document.getElementById("badge-video");
  var status = document.getElementById("badge-status");
  var startButton = document.getElementById("badge-start");
  var form = document.getElementById("badge-form");
  var field = document.getElementById("badge-payload");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var done = false;

  function say(text) { status.textContent = text; }

  function isBadge(text) {
    return typeof text === "string" && (text.indexOf(mark) >= 0 || text.indexOf(mark.slice(1)) === 0);
  }

  function submit(payload) {
    if (done) { return; }
    done = true;
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    field.value = payload;
    say(root.getAttribute("data-found"));
    form.submit();
  }

  if (window.location.hash.indexOf(mark) === 0) {
    var scanned = window.location.href;
    window.history.replaceState(null, "", window.location.pathname);
    submit(scanned);
    return;
  }

  function tick() {
    if (done) { return; }
    if (video.readyState >= 2 && video.videoWidth > 0) {
      var scale = Math.min(1, 800 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
      if (code && isBadge(code.data)) { submit(code.data); return; }
    }
    window.setTimeout(tick, 150);
  }

  function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.jsQR) {
      say(root.getAttribute("data-off"));
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        return video.play();
      })
      .then(function () {
        startButton.hidden = true;
        say(root.getAttribute("data-waiting"));
        tick();
      })
      .catch(function () { say(root.getAttribute("data-off")); });
  }

  startButton.addEventListener("click", start);
  // After a refused badge, wait for a click: the same card held up again would only be
  // refused again (and count against the sign-in throttle).
  if (root.getAttribute("data-autostart") === "1") { start(); }
})();
