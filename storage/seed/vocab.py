"""Words the demo region is built from: program subjects, provider names, people's surnames.

Program mix follows the МОЦ report in seeds/003 (143 programs: sports 57, arts 46, technical 20,
tourism 8, social 8, natural science 4), nudged towards technical and natural science, which the
target model (seeds/000) asks municipalities to grow.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.models.enums import Direction, ProviderKind

DIRECTION_WEIGHTS: dict[Direction, int] = {
    Direction.sports: 30,
    Direction.arts: 26,
    Direction.technical: 17,
    Direction.social_humanitarian: 12,
    Direction.natural_science: 8,
    Direction.tourism_local_history: 7,
}


@dataclass(frozen=True, slots=True)
class Subject:
    title: str
    age_min: int
    age_max: int
    about: str  # the first sentence of the description
    graded: bool  # takes "для начинающих" / "продвинутый уровень" in the title
    named: bool  # a studio or club: the title gets a name in quotes


def _table(text: str) -> tuple[Subject, ...]:
    """Rows of ``title | ages | flags | first sentence``; flags: g = graded, n = named, - none."""
    subjects = []
    for line in text.strip().splitlines():
        title, ages, flags, about = (cell.strip() for cell in line.split("|"))
        low, high = ages.split("-")
        subjects.append(Subject(title, int(low), int(high), about, "g" in flags, "n" in flags))
    return tuple(subjects)


SUBJECTS: dict[Direction, tuple[Subject, ...]] = {
    Direction.technical: _table("""
        Робототехника | 7-14 | g | Собираем и программируем роботов из образовательных конструкторов.
        Лего-конструирование | 5-9 | g | Строим модели из конструктора и учимся объяснять, как они работают.
        Программирование на Python | 11-17 | g | Пишем игры, чат-ботов и полезные утилиты на языке Python.
        Программирование в Scratch | 8-12 | g | Создаём анимации и игры в визуальной среде Scratch.
        3D-моделирование и прототипирование | 10-17 | g | Проектируем детали на компьютере и печатаем их на 3D-принтере.
        Авиамоделирование | 9-16 | g | Строим летающие модели самолётов и участвуем в запусках.
        Судомоделирование | 9-15 | g | Конструируем модели кораблей и испытываем их на воде.
        Радиоэлектроника | 11-17 | g | Паяем первые схемы, собираем приборы и разбираемся в электронике.
        Юный техник | 7-11 | - | Мастерим модели из бумаги, дерева и картона, знакомимся с механизмами.
        Беспилотные летательные аппараты | 12-17 | g | Собираем и пилотируем квадрокоптеры, учимся аэросъёмке.
        Компьютерная графика и дизайн | 10-17 | g | Рисуем на компьютере, верстаем плакаты и создаём логотипы.
        Видеостудия | 11-17 | n | Снимаем и монтируем ролики, учимся работе с камерой и светом.
        Начальное техническое моделирование | 6-10 | - | Развиваем инженерное мышление на простых моделях техники.
        Автомоделирование | 9-16 | g | Строим и настраиваем радиоуправляемые модели автомобилей.
        Инженерная мастерская | 12-17 | n | Решаем инженерные кейсы от идеи до работающего прототипа.
    """),
    Direction.natural_science: _table("""
        Юный эколог | 7-12 | - | Изучаем природу родного края и проводим экологические акции.
        Занимательная химия | 10-15 | g | Ставим безопасные опыты и узнаём, из чего состоят вещества.
        Экспериментальная физика | 11-17 | g | Проверяем законы физики на опытах и собираем приборы своими руками.
        Юный натуралист | 7-12 | - | Ухаживаем за растениями и животными живого уголка.
        Астрономия | 10-17 | g | Наблюдаем звёздное небо в телескоп и узнаём об устройстве Вселенной.
        Мир под микроскопом | 8-13 | - | Рассматриваем клетки, кристаллы и микроорганизмы под микроскопом.
        Экологическая лаборатория | 11-17 | n | Исследуем воду, почву и воздух города в настоящей лаборатории.
        Юный биолог | 10-15 | - | Готовим исследовательские проекты по ботанике и зоологии.
        Ментальная арифметика | 6-11 | g | Учимся считать в уме на абакусе, тренируем память и внимание.
        Занимательная математика | 7-12 | g | Решаем логические задачи, головоломки и олимпиадные задания.
        Цветоводство и ландшафтный дизайн | 9-15 | g | Выращиваем цветы и проектируем школьные клумбы.
        Природа Кузбасса | 7-14 | - | Знакомимся с растениями и животными Кузнецкого Алатау и Салаира.
    """),
    Direction.arts: _table("""
        Хореографическая студия | 5-15 | n | Классический, народный и современный танец для мальчиков и девочек.
        Вокальная студия | 6-16 | n | Ставим голос, поём соло и в ансамбле, выступаем на концертах.
        Изостудия | 6-14 | n | Рисуем акварелью, гуашью и пастелью, изучаем композицию и цвет.
        Театральная студия | 7-16 | n | Играем в спектаклях, учимся сценической речи и движению.
        Образцовый ансамбль танца | 7-17 | n | Сценический танец, гастроли и конкурсы.
        Декоративно-прикладное творчество | 7-14 | g | Лепим, плетём, вышиваем и делаем подарки своими руками.
        Гитара | 9-17 | g | Играем на шестиструнной гитаре: аккорды, переборы, песни у костра.
        Фортепиано | 6-15 | g | Индивидуальные занятия на фортепиано и основы сольфеджио.
        Современный танец | 8-17 | g | Хип-хоп, джаз-модерн и контемпорари для подростков.
        Бисероплетение | 7-13 | g | Плетём украшения и игрушки из бисера по схемам и без.
        Керамика | 7-15 | g | Лепим из глины, работаем на гончарном круге и расписываем изделия.
        Фотостудия | 11-17 | n | Учимся снимать на фотоаппарат и телефон и обрабатывать снимки.
        Хор | 7-14 | n | Поём в хоре, учим нотную грамоту и выступаем на праздниках.
        Мультстудия | 7-13 | n | Придумываем истории и снимаем пластилиновые и рисованные мультфильмы.
        Эстрадный вокал | 9-17 | g | Работаем с микрофоном, фонограммой и сценическим образом.
        Народные инструменты | 8-16 | g | Играем на балалайке, домре и баяне, выступаем с оркестром.
    """),
    Direction.social_humanitarian: _table("""
        Английский язык | 7-15 | g | Говорим, читаем и играем на английском в небольших группах.
        Школа вожатых | 14-17 | - | Учимся организовывать игры, праздники и смены для младших.
        Юный журналист | 11-17 | - | Пишем заметки, берём интервью и выпускаем школьную газету.
        Медиацентр | 12-17 | n | Ведём соцсети и видеоблог школы, учимся проверять информацию.
        Юные инспекторы движения | 9-14 | - | Изучаем правила дорожного движения и проводим акции для малышей.
        Финансовая грамотность | 10-16 | g | Разбираемся, как вести бюджет, копить и не попадаться мошенникам.
        Волонтёрский отряд | 12-17 | n | Помогаем людям и животным, участвуем в добровольческих проектах.
        Подготовка к школе | 5-7 | - | Развиваем речь, внимание и мелкую моторику перед первым классом.
        Психология общения | 12-17 | g | Тренинги уверенности, работы в команде и разрешения конфликтов.
        Юнармейский отряд | 11-17 | n | Военно-патриотическое воспитание, строевая подготовка и походы.
        Клуб интеллектуальных игр | 10-17 | n | Играем в «Что? Где? Когда?», брейн-ринг и квизы.
        Китайский язык | 9-16 | g | Иероглифы, произношение и культура Китая.
        Основы предпринимательства | 13-17 | g | Придумываем и защищаем бизнес-проекты, знакомимся с экономикой.
    """),
    Direction.tourism_local_history: _table("""
        Туристы-краеведы | 10-16 | - | Изучаем историю и природу края в походах и экспедициях.
        Спортивный туризм | 11-17 | g | Готовимся к походам и соревнованиям по туристской технике.
        Юный краевед | 7-14 | - | Собираем истории земляков, работаем с архивами и музеями.
        Школьный музей | 10-16 | n | Ведём экскурсии и пополняем фонды школьного музея.
        Спортивное ориентирование | 9-17 | g | Учимся читать карту и бегать по азимуту в парке и в лесу.
        Летопись Кузбасса | 11-17 | - | Шахтёрская история, исторические места и люди Кузбасса.
        Юные экскурсоводы | 11-16 | - | Готовим и проводим экскурсии по родному городу.
        Пешеходный туризм | 10-17 | g | Походы выходного дня, ночёвки в палатках и основы безопасности.
        Горный туризм | 12-17 | g | Маршруты Горной Шории и Кузнецкого Алатау, снаряжение и страховка.
    """),
    Direction.sports: _table("""
        Мини-футбол | 7-15 | g | Тренировки в зале, игры в районной и городской лигах.
        Шахматы | 6-17 | g | Дебюты, тактика и эндшпиль; турниры с присвоением разрядов.
        Баскетбол | 9-17 | g | Техника ведения, передач и бросков, командная игра.
        Волейбол | 10-17 | g | Подача, приём и нападающий удар, участие в первенствах.
        Лыжные гонки | 8-17 | g | Классический и коньковый ход, подготовка к соревнованиям.
        Дзюдо | 7-17 | g | Техника бросков и удержаний, воспитание характера.
        Самбо | 8-17 | g | Борьба самбо: самостраховка, броски, болевые приёмы по возрасту.
        Плавание | 6-15 | g | Учимся плавать всеми стилями в бассейне с тренером.
        Лёгкая атлетика | 8-17 | g | Бег, прыжки и метания, школьные и областные старты.
        Настольный теннис | 8-17 | g | Подачи, накаты и тактика игры, турниры клуба.
        Художественная гимнастика | 5-14 | g | Гибкость, работа с предметами и показательные выступления.
        Хоккей | 7-15 | g | Катание, владение клюшкой и игра в команде.
        Греко-римская борьба | 8-17 | g | Классическая борьба: техника, выносливость и сила.
        Общая физическая подготовка | 5-10 | - | Подвижные игры, гимнастика и упражнения для здоровья.
        Каратэ | 7-17 | g | Техника ударов и блоков, ката и аттестация на пояса.
        Спортивная акробатика | 6-14 | g | Прыжки, пирамиды и акробатические комбинации.
        Горнолыжный спорт | 8-17 | g | Техника поворотов и слалом на склонах Кузбасса.
    """),
}

STUDIO_NAMES: tuple[str, ...] = (
    "Радуга", "Калейдоскоп", "Вдохновение", "Капелька", "Созвездие", "Фантазия", "Акварель",
    "Карусель", "Сибирячка", "Жемчужина", "Огонёк", "Юность", "Перспектива", "Алые паруса",
    "Экспедиция", "Родник", "Горизонт", "Полёт", "Кедр", "Ступени",
)  # fmt: skip

LEVEL_TEXT = {
    "intro": "Ознакомительный курс: знакомимся с основами, вступительных требований нет.",
    "basic": "Базовый курс: регулярные занятия и первые собственные работы.",
    "advanced": "Продвинутый курс для ребят с опытом: олимпиады, конкурсы и соревнования.",
}
FORMAT_TEXT = {
    "in_person": "Занятия очные.",
    "distance": "Занятия дистанционные: видеоуроки и онлайн-встречи с педагогом.",
    "network": "Сетевая программа: часть занятий проходит у партнёров — в вузе или на предприятии.",
}
OUTCOMES: dict[Direction, tuple[str, ...]] = {
    Direction.technical: (
        "Итог года — защита проекта.",
        "Итог года — участие в робототехнических соревнованиях.",
        "Итог года — выставка технического творчества.",
    ),
    Direction.natural_science: (
        "Итог года — исследовательская работа на научно-практической конференции.",
        "Итог года — экологический проект для своего района.",
    ),
    Direction.arts: (
        "Итог года — отчётный концерт.",
        "Итог года — выставка работ.",
        "Итог года — участие в областном фестивале.",
    ),
    Direction.social_humanitarian: (
        "Итог года — социальный проект.",
        "Итог года — выпуск собственного медиапроекта.",
    ),
    Direction.tourism_local_history: (
        "Итог года — многодневный поход.",
        "Итог года — экспозиция в школьном музее.",
    ),
    Direction.sports: (
        "Итог года — участие в первенстве области.",
        "Итог года — сдача нормативов и присвоение разрядов.",
    ),
}
ADAPTED_TEXT = "Программа адаптирована для детей с ОВЗ."

ALL = tuple(Direction)


@dataclass(frozen=True, slots=True)
class ProviderTemplate:
    kind: ProviderKind
    name: str  # "{n}": a school number; "{num}": "" the first time, " № 2" after; "{adj}"
    directions: tuple[Direction, ...]
    email: str  # the mailbox prefix
    weight: int
    specialised: bool = False  # a sports or arts school: may run pre-professional programs
    towns_only: bool = False  # gymnasiums and lyceums are not found in villages
    main_only: bool = False  # regional institutions live in the capital, once


UNIVERSAL = ProviderTemplate(
    ProviderKind.municipal, "МБУ ДО «Дом детского творчества{num}»", ALL, "ddt", 0
)

PROVIDER_TEMPLATES: tuple[ProviderTemplate, ...] = (
    UNIVERSAL,
    ProviderTemplate(
        ProviderKind.municipal, "МБУ ДО «Центр детского творчества{num}»", ALL, "cdt", 3
    ),
    ProviderTemplate(
        ProviderKind.municipal, "МБОУ «Средняя общеобразовательная школа № {n}»", ALL, "school", 10
    ),
    ProviderTemplate(
        ProviderKind.municipal, "МБОУ «Основная общеобразовательная школа № {n}»", ALL, "oosh", 2
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МБОУ «Гимназия № {n}»",
        (
            Direction.technical,
            Direction.natural_science,
            Direction.social_humanitarian,
            Direction.arts,
        ),
        "gimnazia",
        2,
        towns_only=True,
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МБОУ «Лицей № {n}»",
        (Direction.technical, Direction.natural_science, Direction.social_humanitarian),
        "licey",
        1,
        towns_only=True,
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МБУ ДО «Детско-юношеская спортивная школа{num}»",
        (Direction.sports,),
        "dussh",
        4,
        specialised=True,
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МБУ ДО «Детская школа искусств{num}»",
        (Direction.arts,),
        "dshi",
        4,
        specialised=True,
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МБУ ДО «Станция юных техников{num}»",
        (Direction.technical,),
        "sut",
        2,
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МБУ ДО «Станция юных натуралистов{num}»",
        (Direction.natural_science,),
        "sun",
        1,
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МБУ ДО «Центр детского и юношеского туризма и экскурсий{num}»",
        (Direction.tourism_local_history, Direction.sports),
        "cdyute",
        1,
    ),
    ProviderTemplate(
        ProviderKind.municipal,
        "МАУ ДО «Центр развития творчества детей и юношества{num}»",
        ALL,
        "crtdu",
        1,
    ),
    ProviderTemplate(
        ProviderKind.state,
        "ГАУ ДО «Областной центр дополнительного образования детей»",
        ALL,
        "ocdod",
        2,
        main_only=True,
    ),
    ProviderTemplate(
        ProviderKind.state,
        "ГБУ ДО «Областной центр детского (юношеского) технического творчества и безопасности дорожного движения»",
        (Direction.technical, Direction.social_humanitarian),
        "octt",
        2,
        main_only=True,
    ),
    ProviderTemplate(
        ProviderKind.state,
        "ГПОУ «{adj} политехнический техникум{num}»",
        (Direction.technical, Direction.social_humanitarian),
        "politeh",
        1,
        towns_only=True,
    ),
    ProviderTemplate(
        ProviderKind.state,
        "ГПОУ «{adj} педагогический колледж{num}»",
        (Direction.social_humanitarian, Direction.arts),
        "pedcollege",
        1,
        towns_only=True,
    ),
    ProviderTemplate(
        ProviderKind.state,
        "ГБПОУ «{adj} аграрный техникум{num}»",
        (Direction.natural_science, Direction.technical),
        "agroteh",
        1,
    ),
)

# Private organisations: (brand, directions, mailbox prefix).
PRIVATE_BRANDS: tuple[tuple[str, tuple[Direction, ...], str], ...] = (
    ("Робошкола", (Direction.technical,), "roboschool"),
    ("Технолаб", (Direction.technical, Direction.natural_science), "technolab"),
    ("Инженерная школа", (Direction.technical,), "engschool"),
    ("Лаборатория открытий", (Direction.natural_science,), "labotkr"),
    ("Эврика", (Direction.natural_science, Direction.social_humanitarian), "evrika"),
    ("Зелёный мир", (Direction.natural_science, Direction.tourism_local_history), "greenworld"),
    ("Полиглот", (Direction.social_humanitarian,), "poliglot"),
    ("Умка", (Direction.social_humanitarian, Direction.arts), "umka"),
    ("Палитра", (Direction.arts,), "palitra"),
    ("Грация", (Direction.arts, Direction.sports), "gracia"),
    ("Ритм", (Direction.arts,), "ritm"),
    ("Звёздный час", (Direction.arts, Direction.social_humanitarian), "zvezdchas"),
    ("Олимп", (Direction.sports,), "olimp"),
    ("Гамбит", (Direction.sports,), "gambit"),
    ("Дельфин", (Direction.sports,), "delfin"),
    ("Чемпион", (Direction.sports,), "champion"),
    ("Компас", (Direction.tourism_local_history, Direction.sports), "kompas"),
    ("Маршрут", (Direction.tourism_local_history,), "marshrut"),
    (
        "Интеллект",
        (Direction.technical, Direction.natural_science, Direction.social_humanitarian),
        "intellekt",
    ),
    ("Мастерская детства", (Direction.arts, Direction.social_humanitarian), "masterskaya"),
)
PRIVATE_FORMS: tuple[tuple[str, int], ...] = (("ООО", 6), ("АНО ДО", 3), ("ЧУ ДО", 1))

# Male surnames; the female form adds "а" (Иванов → Иванова).
SURNAMES: tuple[str, ...] = (
    "Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
    "Новиков", "Морозов", "Волков", "Соловьёв", "Васильев", "Зайцев", "Павлов", "Семёнов",
    "Голубев", "Виноградов", "Богданов", "Воробьёв", "Фёдоров", "Михайлов", "Беляев", "Тарасов",
    "Белов", "Комаров", "Орлов", "Киселёв", "Макаров", "Андреев", "Ковалёв", "Ильин", "Гусев",
    "Титов", "Кузьмин", "Баранов", "Куликов", "Алексеев", "Степанов", "Яковлев", "Сергеев",
    "Романов", "Захаров", "Борисов", "Королёв", "Герасимов", "Пономарёв", "Григорьев",
    "Лазарев", "Медведев", "Ершов", "Никитин", "Соболев", "Рябов", "Поляков", "Цветков",
    "Данилов", "Жуков", "Фролов", "Журавлёв", "Николаев", "Крылов", "Максимов", "Осипов",
)  # fmt: skip
INITIALS = "АВГДЕИКЛМНОПРСТЮ"

MOBILE_PREFIXES: tuple[str, ...] = ("903", "905", "913", "923", "950", "951", "960", "983")
MAIL_DOMAINS: tuple[str, ...] = ("mail.ru", "yandex.ru", "bk.ru", "inbox.ru")

_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "ш": "sh",
    "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
})  # fmt: skip


def translit(text: str) -> str:
    """ASCII letters and digits of a Russian word, for mailbox names."""
    return "".join(ch for ch in text.lower().translate(_TRANSLIT) if ch.isascii() and ch.isalnum())
