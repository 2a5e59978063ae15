/** Languages the device speaks and shows. The language is a device setting. */
export const LANGUAGES = ['en', 'hi', 'bn', 'kn'] as const;
export type Language = (typeof LANGUAGES)[number];

export const LANGUAGE_NAMES: Record<Language, string> = {
  en: 'English',
  hi: 'हिन्दी',
  bn: 'বাংলা',
  kn: 'ಕನ್ನಡ',
};

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}
