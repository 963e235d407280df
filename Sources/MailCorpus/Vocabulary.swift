/// What the corpus talks about and who writes it: a support desk's words, customers from many countries,
/// and subjects in the scripts and charsets real support mail arrives in.
enum Vocabulary {
    static let words = """
    account access address admin afternoon again agent app approval archive attachment backup balance \
    billing browser budget calendar cancel card case certificate change charge checkout client code \
    config connection contract copy customer dashboard data database deadline delivery desk device \
    discount document domain download driver email error escalate export failed feature file firewall \
    folder form invoice issue install key laptop license link login mailbox manager meeting message \
    migration mobile monitor network notice office order outage package page password payment phone \
    plan portal price printer priority problem product profile quote receipt refund release remote \
    renewal report request reset restore router schedule screen server service settings shipment \
    signature slow storage subscription support sync team ticket timeout today tomorrow token update \
    upgrade upload user version warranty week window working yesterday please thanks still since \
    after before when again our your the a to of and in is it for on with this we you can will not
    """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

    static let accented = ["déjà vu", "naïve", "Grüße", "über", "€ 240", "crème brûlée", "smörgåsbord", "façade",
                           "piñata", "Straße", "résumé", "Ærø", "Zürich", "São Paulo"]

    static let people: [String] = [
        "Hannah Becker", "Oliver Grant", "Priya Natarajan", "Wei Zhang", "Chidi Okafor", "Isabella Rossi",
        "Mateo Fernández", "Sofía Ramírez", "Jörg Schäfer", "Amélie Moreau", "Bjørn Haugen", "Małgorzata Nowak",
        "Дмитрий Соколов", "山田 花子", "李 娜", "Ελένη Παπαδοπούλου", "Nguyễn Văn An", "Zoë O'Brien",
        "Ayşe Yılmaz", "Kamal Haddad",
    ]

    static let domains = ["example.com", "example.net", "example.org", "fabrikam.example", "northwind.example",
                          "tailspin.example", "wingtip.example", "kunde.example.de", "client.example.fr", "firma.example.jp"]

    static let support = (name: "Help Desk", email: "support@helpdesk.example")

    /// Staff who answer from their own addresses, as they do when a desk works out of a shared mailbox.
    static let agents: [(name: String, email: String)] = [
        ("Dana Agent", "dana@helpdesk.example"), ("Ravi Support", "ravi@helpdesk.example"),
        ("Léa Service", "lea@helpdesk.example"), ("佐藤 健", "sato@helpdesk.example"),
    ]

    static let asciiSubjects = [
        "Can't sign in to the portal since this morning", "Invoice {n} charged twice", "Order {n} never arrived",
        "Printer in room 4.12 prints blank pages", "VPN drops every few minutes", "Please reset my password",
        "URGENT: checkout returns error 502", "How do I change my plan?", "Refund request for order {n}",
        "Mobile app crashes on start", "Need access to the finance folder", "CSV export is empty",
        "Feature request: keyboard shortcuts", "Certificate warning on the API host", "Calendar invites show up twice",
        "Upload fails for files over 20 MB", "Cancel subscription {n}",
    ]

    static let unicodeSubjects = [
        "Problème de facturation sur la commande {n}", "Lieferung {n} beschädigt – bitte um Ersatz",
        "No puedo acceder a mi cuenta", "Не приходит письмо для сброса пароля", "Fakturan stämmer inte",
        "🚨 Service down again", "Zamówienie {n} – brak potwierdzenia", "Πρόβλημα με την πληρωμή",
        "Rückerstattung für Bestellung {n}", "【緊急】ログインできません", "订单 {n} 的退款问题",
    ]

    static let latin1Subjects = [
        "Problème de facturation sur la commande {n}", "Rückerstattung für Bestellung {n}",
        "Fakturan stämmer inte", "Pedido nº {n} incompleto", "Réclamation : colis abîmé",
        "Kündigung des Vertrags {n}", "Atualização de conta necessária",
    ]

    static let japaneseSubjects = ["【至急】ログインできません", "請求書 {n} について", "パスワード再設定のお願い",
                                   "納品書の再発行について", "障害のご報告"]

    static let japaneseSentences = ["いつもお世話になっております。", "管理画面にログインできなくなりました。",
                                    "今朝から同じエラーが表示されます。", "お手数ですがご確認をお願いいたします。",
                                    "スクリーンショットを添付いたします。", "どうぞよろしくお願いいたします。",
                                    "請求金額が注文内容と異なります。", "再起動しても直りませんでした。"]

    static let greetings = ["Hello", "Hi", "Dear support team", "Good morning", "Hallo", "Bonjour", "Hola"]
    static let closings = ["Thanks,", "Best regards,", "Kind regards,", "Cheers,", "Viele Grüße,", "Cordialement,"]
    static let mailers = ["X-Mailer: Microsoft Outlook 16.0", "User-Agent: Mozilla Thunderbird 128.4.0",
                          "X-Mailer: iPhone Mail (21G93)", "User-Agent: Roundcube Webmail/1.6.9",
                          "X-Mailer: PHPMailer 6.9.2"]

    static let attachmentNames = ["invoice", "screenshot", "error-log", "contract", "quarterly-report", "scan",
                                  "export", "diagnostics", "photo", "Lieferschein_Müller", "reçu", "見積書",
                                  "Prüfprotokoll", "captura"]
}
