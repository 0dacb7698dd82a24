//! Masks personal data (IBANs, card numbers, mobiles, national codes) in text bound for logs and errors.

/// Replaces the middle of every IBAN, card number, mobile number and national code in `text`.
///
/// `IR670120020000002353697200` -> `IR67******************7200`, `6037991234567890` -> `603799******7890`,
/// `09123456789` -> `0912****789`, `0013542419` -> `******2419`.
pub fn mask_personal_data(text: &str) -> String {
    // Credentials first: a server may echo the request body, api_key included.
    let text = crate::secret::scrub(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let iban = (chars[i] == 'I' || chars[i] == 'i')
            && chars.get(i + 1).is_some_and(|c| *c == 'R' || *c == 'r')
            && run_of_digits(&chars, i + 2) == 24;
        if iban {
            let digits: String = chars[i + 2..i + 26].iter().collect();
            out.push_str(&format!("IR{}{}{}", &digits[..2], "*".repeat(18), &digits[20..]));
            i += 26;
            continue;
        }
        let run = run_of_digits(&chars, i);
        if run == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let digits: String = chars[i..i + run].iter().collect();
        out.push_str(&match run {
            16 => format!("{}******{}", &digits[..6], &digits[12..]),
            11 if digits.starts_with("09") => format!("{}****{}", &digits[..4], &digits[8..]),
            10 => format!("******{}", &digits[6..]),
            _ => digits,
        });
        i += run;
    }
    out
}

/// Length of the run of ASCII digits starting at `at` (the loop above always stands at a run's start).
fn run_of_digits(chars: &[char], at: usize) -> usize {
    chars.get(at..).unwrap_or_default().iter().take_while(|c| c.is_ascii_digit()).count()
}

#[cfg(test)]
mod tests {
    use super::mask_personal_data as mask;

    #[test]
    fn masks_each_kind_of_identifier() {
        assert_eq!(mask("IR670120020000002353697200"), "IR67******************7200");
        assert_eq!(mask("card 6037991234567890 used"), "card 603799******7890 used");
        assert_eq!(mask("mobile 09123456789"), "mobile 0912****789");
        assert_eq!(mask("code 0013542419."), "code ******2419.");
    }

    #[test]
    fn leaves_other_numbers_alone() {
        assert_eq!(mask("amount 1000 of 155058785697"), "amount 1000 of 155058785697");
        assert_eq!(mask("شبا وارد شده"), "شبا وارد شده");
    }
}
