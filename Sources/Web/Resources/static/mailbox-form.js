(function () {
  var form = document.getElementById("mailbox-form");
  if (!form) return;
  function set(id, value) {
    var field = document.getElementById(id);
    if (field) field.value = value;
  }
  form.addEventListener("change", function (event) {
    if (event.target.name !== "provider") return;
    var data = form.dataset, provider = event.target.value;
    var known = data[provider + "ImapHost"] !== undefined;
    set("imap_host", known ? data[provider + "ImapHost"] : "");
    set("imap_port", known ? data[provider + "ImapPort"] : 993);
    set("imap_security", known ? data[provider + "ImapSecurity"] : "tls");
    set("smtp_host", known ? data[provider + "SmtpHost"] : "");
    set("smtp_port", known ? data[provider + "SmtpPort"] : 587);
    set("smtp_security", known ? data[provider + "SmtpSecurity"] : "starttls");
  });
})();
