"""The Dutch and Welsh of every notice string (msgid -> {"nl": …, "cy": …}).

Plural entries give a list of forms (Dutch: one, other; Welsh takes the noun in the
singular after a number, so one form serves all four). The Bacs Direct Debit Guarantee
follows Bacs's English wording; its Welsh follows the wording Welsh service users
publish (e.g. Dŵr Cymru's "Y Sicrwydd Debyd Uniongyrchol"). The SEPA refund right in
Dutch is the sentence of the Dutch standard mandate (Betaalvereniging Nederland).
"""

TRANSLATIONS: dict[str, dict[str, str | list[str]]] = {
    "%(agency)s will collect %(amount)s from your account %(account)s by direct debit on %(date)s.": {
        "nl": "%(agency)s schrijft op %(date)s %(amount)s af van uw rekening %(account)s (automatische incasso).",
        "cy": "Bydd %(agency)s yn casglu %(amount)s o'ch cyfrif %(account)s drwy ddebyd uniongyrchol ar %(date)s.",
    },
    "What for": {"nl": "Waarvoor", "cy": "Am beth"},
    "Reference": {"nl": "Kenmerk", "cy": "Cyfeirnod"},
    "Amount": {"nl": "Bedrag", "cy": "Swm"},
    "Collection date": {"nl": "Incassodatum", "cy": "Dyddiad casglu"},
    "Mandate reference": {"nl": "Machtigingskenmerk", "cy": "Cyfeirnod y mandad"},
    "Creditor identifier": {"nl": "Incassant-ID", "cy": "Dynodwr y credydwr"},
    "Creditor": {"nl": "Incassant", "cy": "Credydwr"},
    "Service user number": {
        "nl": "Bacs-servicegebruikersnummer",
        "cy": "Rhif defnyddiwr gwasanaeth",
    },
    "Please make sure there is enough money in your account on that date. If anything here is wrong, contact us before then.": {
        "nl": "Zorg dat er op die datum voldoende saldo op uw rekening staat. Klopt er iets niet, neem dan vóór die datum contact met ons op.",
        "cy": "Gwnewch yn siŵr bod digon o arian yn eich cyfrif ar y dyddiad hwnnw. Os oes unrhyw beth yma'n anghywir, cysylltwch â ni cyn hynny.",
    },
    "%(agency)s will collect %(amount)s by direct debit on %(date)s": {
        "nl": "%(agency)s incasseert %(amount)s op %(date)s",
        "cy": "Bydd %(agency)s yn casglu %(amount)s drwy ddebyd uniongyrchol ar %(date)s",
    },
    "Your bank returned the direct debit of %(amount)s that %(agency)s collected on %(date)s.": {
        "nl": "Uw bank heeft de incasso van %(amount)s die %(agency)s op %(date)s afschreef, teruggeboekt.",
        "cy": "Mae eich banc wedi dychwelyd y debyd uniongyrchol o %(amount)s a gasglodd %(agency)s ar %(date)s.",
    },
    "Your bank did not pay the direct debit of %(amount)s that %(agency)s asked for on %(date)s.": {
        "nl": "Uw bank heeft de incasso van %(amount)s die %(agency)s voor %(date)s aanbood, niet uitgevoerd.",
        "cy": "Ni thalodd eich banc y debyd uniongyrchol o %(amount)s y gofynnodd %(agency)s amdano ar %(date)s.",
    },
    "What happens next: we will try to collect %(amount)s again on %(retry_date)s. Please make sure there is enough money in your account on that date.": {
        "nl": "Hoe verder: wij proberen %(amount)s op %(retry_date)s opnieuw te incasseren. Zorg dat er op die datum voldoende saldo op uw rekening staat.",
        "cy": "Beth sy'n digwydd nesaf: byddwn yn ceisio casglu %(amount)s eto ar %(retry_date)s. Gwnewch yn siŵr bod digon o arian yn eich cyfrif ar y dyddiad hwnnw.",
    },
    "What happens next: we will not try to collect this payment again by direct debit.": {
        "nl": "Hoe verder: wij incasseren deze betaling niet opnieuw.",
        "cy": "Beth sy'n digwydd nesaf: ni fyddwn yn ceisio casglu'r taliad hwn eto drwy ddebyd uniongyrchol.",
    },
    "Your direct debit payment of %(amount)s to %(agency)s was not made": {
        "nl": "Uw incassobetaling van %(amount)s aan %(agency)s is niet gelukt",
        "cy": "Ni wnaed eich taliad debyd uniongyrchol o %(amount)s i %(agency)s",
    },
    "Despite our reminder, %(amount)s is still to be paid for %(description)s.": {
        "nl": "Ondanks onze herinnering staat er nog %(amount)s open voor %(description)s.",
        "cy": "Er gwaethaf ein nodyn atgoffa, mae %(amount)s i'w dalu o hyd am %(description)s.",
    },
    "Amount due": {"nl": "Openstaand bedrag", "cy": "Swm sy'n ddyledus"},
    "Overdue since": {"nl": "Achterstallig sinds", "cy": "Yn hwyr ers"},
    "Please pay within 14 days. If you do not, we may take further steps to recover the amount, which can add costs.": {
        "nl": "Betaal binnen 14 dagen. Doet u dat niet, dan kunnen wij verdere stappen nemen om het bedrag te innen; daar kunnen kosten bij komen.",
        "cy": "Talwch o fewn 14 diwrnod. Os na wnewch chi, efallai y byddwn yn cymryd camau pellach i adennill y swm, a gall hynny ychwanegu costau.",
    },
    "If you cannot pay the whole amount, contact us: we can agree a payment plan.": {
        "nl": "Kunt u het hele bedrag niet in één keer betalen, neem dan contact met ons op: wij kunnen een betalingsregeling afspreken.",
        "cy": "Os na allwch dalu'r swm cyfan, cysylltwch â ni: gallwn gytuno ar gynllun talu.",
    },
    "Final notice: %(amount)s to pay to %(agency)s": {
        "nl": "Laatste aanmaning: %(amount)s te betalen aan %(agency)s",
        "cy": "Hysbysiad terfynol: %(amount)s i'w dalu i %(agency)s",
    },
    "Questions? Reply to this email or write to %(contact)s.": {
        "nl": "Vragen? Beantwoord deze e-mail of schrijf naar %(contact)s.",
        "cy": "Cwestiynau? Atebwch yr e-bost hwn neu ysgrifennwch at %(contact)s.",
    },
    "This email was sent by %(agency)s.": {
        "nl": "Deze e-mail is verstuurd door %(agency)s.",
        "cy": "Anfonwyd yr e-bost hwn gan %(agency)s.",
    },
    "Pay online:": {"nl": "Online betalen:", "cy": "Talu ar-lein:"},
    "To pay, transfer the amount to %(agency)s and quote the reference %(reference)s, or contact us.": {
        "nl": "Maak het bedrag over aan %(agency)s onder vermelding van het kenmerk %(reference)s, of neem contact met ons op.",
        "cy": "I dalu, trosglwyddwch y swm i %(agency)s gan nodi'r cyfeirnod %(reference)s, neu cysylltwch â ni.",
    },
    "Your direct debit instruction to %(agency)s is now active.": {
        "nl": "Uw machtiging voor automatische incasso door %(agency)s is nu actief.",
        "cy": "Mae eich cyfarwyddyd debyd uniongyrchol i %(agency)s yn weithredol nawr.",
    },
    "Account holder": {"nl": "Rekeninghouder", "cy": "Deiliad y cyfrif"},
    "Account": {"nl": "Rekening", "cy": "Cyfrif"},
    "We will tell you the amount and date of each collection at least %(days)s day before it is taken.": {
        "nl": [
            "Wij laten u het bedrag en de datum van elke incasso ten minste %(days)s dag van tevoren weten.",
            "Wij laten u het bedrag en de datum van elke incasso ten minste %(days)s dagen van tevoren weten.",
        ],
        "cy": [
            "Byddwn yn dweud wrthych swm a dyddiad pob casgliad o leiaf %(days)s diwrnod cyn iddo gael ei gymryd."
        ],
    },
    "As part of your rights, you are entitled to a refund from your bank under the terms and conditions of your agreement with your bank. A refund must be claimed within 8 weeks starting from the date on which your account was debited.": {
        "nl": "Als u het niet eens bent met een afschrijving, kunt u deze laten terugboeken. Neem hiervoor binnen 8 weken na de afschrijving contact op met uw bank. Vraag uw bank naar de voorwaarden.",
        "cy": "Fel rhan o'ch hawliau, mae gennych hawl i gael ad-daliad gan eich banc o dan delerau ac amodau eich cytundeb â'ch banc. Rhaid hawlio ad-daliad o fewn 8 wythnos gan ddechrau o'r dyddiad y debydwyd eich cyfrif.",
    },
    "The Direct Debit Guarantee": {
        "nl": "De Direct Debit-garantie",
        "cy": "Y Sicrwydd Debyd Uniongyrchol",
    },
    "This Guarantee is offered by all banks and building societies that accept instructions to pay Direct Debits": {
        "nl": "Deze garantie wordt geboden door alle banken en building societies die opdrachten tot betaling van Direct Debits aannemen",
        "cy": "Mae pob banc a chymdeithas adeiladu sy'n derbyn cyfarwyddiadau i dalu Debydau Uniongyrchol yn cynnig y Sicrwydd hwn",
    },
    "If there are any changes to the amount, date or frequency of your Direct Debit %(creditor_name)s will notify you %(days)s working day in advance of your account being debited or as otherwise agreed. If you request %(creditor_name)s to collect a payment, confirmation of the amount and date will be given to you at the time of the request": {
        "nl": [
            "Als het bedrag, de datum of de frequentie van uw Direct Debit verandert, laat %(creditor_name)s u dat %(days)s werkdag vóór de afschrijving weten, of zoals anders afgesproken. Als u %(creditor_name)s vraagt een betaling te innen, krijgt u bij dat verzoek een bevestiging van het bedrag en de datum",
            "Als het bedrag, de datum of de frequentie van uw Direct Debit verandert, laat %(creditor_name)s u dat %(days)s werkdagen vóór de afschrijving weten, of zoals anders afgesproken. Als u %(creditor_name)s vraagt een betaling te innen, krijgt u bij dat verzoek een bevestiging van het bedrag en de datum",
        ],
        "cy": [
            "Os bydd unrhyw newidiadau i swm, dyddiad neu amlder eich Debyd Uniongyrchol bydd %(creditor_name)s yn eich hysbysu %(days)s diwrnod gwaith cyn i'ch cyfrif gael ei ddebydu neu yn unol â'r hyn a gytunwyd yn wahanol. Os ydych yn gofyn i %(creditor_name)s gasglu taliad, bydd cadarnhad o'r swm a'r dyddiad yn cael ei roi i chi ar adeg y cais"
        ],
    },
    "If an error is made in the payment of your Direct Debit, by %(creditor_name)s or your bank or building society, you are entitled to a full and immediate refund of the amount paid from your bank or building society": {
        "nl": "Als %(creditor_name)s of uw bank of building society een fout maakt bij de betaling van uw Direct Debit, hebt u recht op een volledige en onmiddellijke terugbetaling van het betaalde bedrag door uw bank of building society",
        "cy": "Os bydd %(creditor_name)s neu eich banc neu gymdeithas adeiladu yn gwneud camgymeriad o ran talu eich Debyd Uniongyrchol mae gennych hawl i gael ad-daliad llawn ac ar unwaith o'r swm a dalwyd o'ch banc neu gymdeithas adeiladu",
    },
    "If you receive a refund you are not entitled to, you must pay it back when %(creditor_name)s asks you to": {
        "nl": "Als u een terugbetaling ontvangt waarop u geen recht hebt, moet u die terugbetalen wanneer %(creditor_name)s daarom vraagt",
        "cy": "Os ydych yn cael ad-daliad nad oes gennych hawl iddo, mae'n rhaid i chi ei dalu yn ôl pan fo %(creditor_name)s yn gofyn i chi wneud hynny",
    },
    "You can cancel a Direct Debit at any time by simply contacting your bank or building society. Written confirmation may be required. Please also notify us.": {
        "nl": "U kunt een Direct Debit op elk moment opzeggen door contact op te nemen met uw bank of building society. Mogelijk is een schriftelijke bevestiging nodig. Laat het ons ook weten.",
        "cy": "Cewch ganslo Debyd Uniongyrchol ar unrhyw bryd drwy gysylltu â'ch banc neu gymdeithas adeiladu. Efallai bydd angen cadarnhad ysgrifenedig. Rhowch wybod i ninnau hefyd.",
    },
    "Your direct debit to %(agency)s is set up": {
        "nl": "Uw automatische incasso door %(agency)s is ingesteld",
        "cy": "Mae eich debyd uniongyrchol i %(agency)s wedi'i sefydlu",
    },
    "Thank you: %(agency)s has received your payment.": {
        "nl": "Dank u wel: %(agency)s heeft uw betaling ontvangen.",
        "cy": "Diolch: mae %(agency)s wedi cael eich taliad.",
    },
    "Date": {"nl": "Datum", "cy": "Dyddiad"},
    "Payment id": {"nl": "Betalingsnummer", "cy": "Rhif y taliad"},
    "Keep this email for your records.": {
        "nl": "Bewaar deze e-mail voor uw administratie.",
        "cy": "Cadwch yr e-bost hwn ar gyfer eich cofnodion.",
    },
    "Your payment of %(amount)s to %(agency)s": {
        "nl": "Uw betaling van %(amount)s aan %(agency)s",
        "cy": "Eich taliad o %(amount)s i %(agency)s",
    },
    "%(agency)s has refunded %(amount)s of your payment of %(paid_amount)s.": {
        "nl": "%(agency)s heeft %(amount)s van uw betaling van %(paid_amount)s terugbetaald.",
        "cy": "Mae %(agency)s wedi ad-dalu %(amount)s o'ch taliad o %(paid_amount)s.",
    },
    "Amount refunded": {"nl": "Terugbetaald bedrag", "cy": "Swm a ad-dalwyd"},
    "The money is returned to the card or account you paid with. It can take up to 10 working days to show.": {
        "nl": "Het geld gaat terug naar de kaart of rekening waarmee u betaalde. Het kan tot 10 werkdagen duren voordat u het ziet.",
        "cy": "Mae'r arian yn cael ei ddychwelyd i'r cerdyn neu'r cyfrif y talwyd ag ef. Gall gymryd hyd at 10 diwrnod gwaith i ymddangos.",
    },
    "%(agency)s has refunded %(amount)s": {
        "nl": "%(agency)s heeft %(amount)s terugbetaald",
        "cy": "Mae %(agency)s wedi ad-dalu %(amount)s",
    },
    "Our records show that %(amount)s is still to be paid for %(description)s.": {
        "nl": "Volgens onze administratie staat er nog %(amount)s open voor %(description)s.",
        "cy": "Mae ein cofnodion yn dangos bod %(amount)s i'w dalu o hyd am %(description)s.",
    },
    "Please pay as soon as possible.": {
        "nl": "Betaal zo snel mogelijk.",
        "cy": "Talwch cyn gynted â phosibl.",
    },
    "If you have paid in the last few days, you can ignore this reminder.": {
        "nl": "Hebt u de afgelopen dagen al betaald, dan kunt u deze herinnering negeren.",
        "cy": "Os ydych wedi talu yn ystod y dyddiau diwethaf, gallwch anwybyddu'r nodyn atgoffa hwn.",
    },
    "Reminder: %(amount)s to pay to %(agency)s": {
        "nl": "Herinnering: %(amount)s te betalen aan %(agency)s",
        "cy": "Nodyn atgoffa: %(amount)s i'w dalu i %(agency)s",
    },
}
